// server/connection_loop.cc — the epoll loop that holds connections until their request is in.
#include "server/connection_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/logging.h"
#include "server/request_head.h"

namespace odlm::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kLinger = std::chrono::seconds(2);  // a refused connection's last words
constexpr int kMaxLingering = 256;                 // beyond: closed at once
constexpr size_t kReadChunk = 16 * 1024;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string Seconds(std::chrono::milliseconds ms) {
  const int64_t n = ms.count();
  return n % 1000 == 0 ? std::to_string(n / 1000) + " s" : std::to_string(n) + " ms";
}

}  // namespace

std::string RawErrorResponse(const ApiError& error) {
  const std::string body = error.ToJson();
  std::string out =
      "HTTP/1.1 " + std::to_string(error.http_status) + " " + ReasonPhrase(error.http_status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n";
  if (error.http_status == 429 || error.http_status == 503) out += "Retry-After: 1\r\n";
  return out + "\r\n" + body;
}

struct ConnectionLoop::Impl {
  enum class Phase { kHead, kBody, kServing, kLingering };
  struct Conn {
    ReadyConnection io;
    RequestHead head;  // the awaited request's head, as scanned so far
    std::string peer;  // empty while lingering (no longer counted)
    Phase phase = Phase::kHead;
    bool fresh = true;       // no request served yet: the head deadline runs from the accept
    bool any_bytes = false;  // of the request now awaited
    Clock::time_point deadline;
    int served = 0;
  };

  int listen_fd;
  bool listen_open = true;  // closed by Shutdown, or by the destructor if Run never ran
  ConnectionLimits limits;
  int threads;
  PeerOf peer_of;
  Serve serve;
  std::function<void(RejectReason)> on_reject;

  int epoll_fd = -1;
  int wake_fd = -1;
  bool accepting = true;
  Clock::time_point resume_accept;
  std::unordered_map<int, std::unique_ptr<Conn>> conns;  // by descriptor
  std::map<std::string, int> per_peer;
  int counted = 0;  // connections counted against the limits (all but lingering ones)
  int lingering = 0;
  std::unique_ptr<httplib::ThreadPool> pool;

  std::mutex mu;  // guards the fields below (handler threads hand connections back)
  bool stop_requested = false;
  bool stopped = false;
  std::vector<std::pair<Conn*, bool>> returned;  // (connection, may carry another request)

  void Wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof(one));
  }

  void Watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    CHECK(::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0) << "epoll_ctl: " << errno;
  }
  void Unwatch(int fd) { ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr); }

  void Uncount(Conn& c) {
    if (c.peer.empty()) return;
    if (--per_peer[c.peer] <= 0) per_peer.erase(c.peer);
    --counted;
    c.peer.clear();
  }

  void Close(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    Conn& c = *it->second;
    if (c.phase != Phase::kServing) Unwatch(fd);
    if (c.phase == Phase::kLingering) --lingering;
    Uncount(c);
    ::close(fd);
    conns.erase(it);
  }

  // Answers `error` without blocking, half-closes, and drops what the client still sends for a
  // while (so that it reads the answer rather than a reset).
  void Refuse(Conn& c, const ApiError& error, RejectReason reason) {
    on_reject(reason);
    const std::string bytes = RawErrorResponse(error);
    (void)::send(c.io.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(c.io.fd, SHUT_WR);
    Uncount(c);
    c.io.buffer.clear();
    c.io.offset = 0;
    if (lingering >= kMaxLingering) return Close(c.io.fd);
    c.phase = Phase::kLingering;
    ++lingering;
    c.deadline = Clock::now() + kLinger;
  }

  void Dispatch(Conn& c) {
    Unwatch(c.io.fd);
    c.phase = Phase::kServing;
    c.io.body_deadline = Clock::now() + limits.body_timeout;
    c.io.last = c.served + 1 >= limits.max_requests_per_connection;
    Conn* conn = &c;
    pool->enqueue([this, conn] {
      const size_t start = conn->io.offset;
      bool keep = serve(conn->io);
      // The rest of a request the handler did not read (a refused body) must not be taken for
      // the next request: skip it if it is here, else close.
      if (keep && conn->io.request_bytes != UINT64_MAX) {
        const uint64_t end = start + conn->io.request_bytes;
        if (end > conn->io.buffer.size()) {
          keep = false;
        } else {
          conn->io.offset = std::max<size_t>(conn->io.offset, static_cast<size_t>(end));
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) {  // the loop is gone: nobody takes it back
        ::close(conn->io.fd);
        conn->io.fd = -1;
        return;
      }
      returned.emplace_back(conn, keep);
      Wake();
    });
  }

  // Looks at what has arrived of the awaited request; dispatches or refuses when it can.
  void Evaluate(Conn& c) {
    const std::string_view pending = std::string_view(c.io.buffer).substr(c.io.offset);
    if (pending.empty()) return;
    if (!c.any_bytes) {
      c.any_bytes = true;
      if (!c.fresh) c.deadline = Clock::now() + limits.header_timeout;
    }
    if (c.phase == Phase::kHead) {
      ScanRequestHeadMore(pending, limits.max_head_bytes, &c.head);
      const RequestHead& head = c.head;
      switch (head.state) {
        case RequestHead::State::kIncomplete:
          return;
        case RequestHead::State::kTooLarge:
          return Refuse(c,
                        {431, "invalid_request_error", "headers_too_large",
                         "the request line and headers are longer than " +
                             std::to_string(limits.max_head_bytes) + " bytes",
                         ""},
                        RejectReason::kHeadersTooLarge);
        case RequestHead::State::kMalformed:
          return Refuse(c,
                        BadRequest("malformed request head: an unreadable Content-Length, or a "
                                   "Transfer-Encoding other than chunked",
                                   "", "malformed_request"),
                        RejectReason::kMalformedHead);
        case RequestHead::State::kComplete:
          break;
      }
      if (!head.chunked && head.content_length > limits.max_body_bytes) {
        return Refuse(c,
                      PayloadTooLarge("the request body is " + std::to_string(head.content_length) +
                                      " bytes; the limit is " +
                                      std::to_string(limits.max_body_bytes) + " (--max-body)"),
                      RejectReason::kBodyTooLarge);
      }
      c.io.request_bytes = head.chunked ? UINT64_MAX : head.head_bytes + head.content_length;
      if (head.chunked || head.expect_continue) return Dispatch(c);
      c.phase = Phase::kBody;
      c.deadline = Clock::now() + limits.body_timeout;
    }
    if (c.phase == Phase::kBody && pending.size() >= c.io.request_bytes) Dispatch(c);
  }

  void OnReadable(int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    Conn& c = *it->second;
    char buf[kReadChunk];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) return Close(fd);              // the client left (or reset)
    if (c.phase == Phase::kLingering) return;  // dropped
    c.io.buffer.append(buf, static_cast<size_t>(n));
    Evaluate(c);
  }

  void Accept() {
    for (;;) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop accepting for a moment instead of spinning on the socket.
          LOG(WARNING) << "accept: " << std::strerror(errno) << "; pausing new connections";
          Unwatch(listen_fd);
          accepting = false;
          resume_accept = Clock::now() + std::chrono::milliseconds(100);
        }
        return;
      }
      auto conn = std::make_unique<Conn>();
      conn->io.fd = fd;
      conn->deadline = Clock::now() + limits.header_timeout;
      Conn& c = *conn;
      conns[fd] = std::move(conn);
      Watch(fd);
      std::variant<std::string, ApiError> peer = peer_of(fd);
      if (auto* refusal = std::get_if<ApiError>(&peer)) {
        Refuse(c, *refusal, RejectReason::kPeerNotAllowed);
        continue;
      }
      const std::string& key = std::get<std::string>(peer);
      if (counted >= limits.max_connections || fd >= FD_SETSIZE) {
        Refuse(c,
               {503, "server_error", "server_busy",
                "the service holds its most connections (" +
                    std::to_string(limits.max_connections) + ", --max-connections); retry later",
                ""},
               RejectReason::kConnectionsTotal);
        continue;
      }
      if (per_peer[key] >= limits.max_connections_per_peer) {
        if (per_peer[key] == 0) per_peer.erase(key);
        Refuse(c,
               TooManyRequests("this client (" + key + ") already holds " +
                                   std::to_string(limits.max_connections_per_peer) +
                                   " connections, its most (--max-connections-per-peer); close "
                                   "idle ones or retry later",
                               "too_many_connections"),
               RejectReason::kConnectionsPerPeer);
        continue;
      }
      c.peer = key;
      ++per_peer[key];
      ++counted;
    }
  }

  // Connections handed back by handler threads: closed, or awaiting their next request.
  void TakeReturned() {
    std::vector<std::pair<Conn*, bool>> back;
    {
      std::lock_guard<std::mutex> lock(mu);
      back.swap(returned);
    }
    const bool stopping = StopRequested();
    for (auto [c, keep] : back) {
      if (!keep || stopping) {
        ::shutdown(c->io.fd, SHUT_RDWR);
        Close(c->io.fd);  // still kServing: not watched
        continue;
      }
      c->io.buffer.erase(0, c->io.offset);
      c->io.offset = 0;
      c->io.request_bytes = UINT64_MAX;
      c->head = RequestHead();
      ++c->served;
      c->fresh = false;
      c->any_bytes = false;
      c->phase = Phase::kHead;
      c->deadline = Clock::now() + limits.idle_timeout;
      Watch(c->io.fd);
      Evaluate(*c);  // a pipelined request may be here already
    }
  }

  void Expire() {
    const Clock::time_point now = Clock::now();
    std::vector<int> due;
    for (const auto& [fd, c] : conns) {
      if (c->phase != Phase::kServing && c->deadline <= now) due.push_back(fd);
    }
    for (int fd : due) {
      Conn& c = *conns[fd];
      if (c.phase == Phase::kLingering || !c.any_bytes) {
        Close(fd);  // nothing was asked (an idle connection): nothing to answer
      } else if (c.phase == Phase::kHead) {
        Refuse(c,
               {408, "invalid_request_error", "request_timeout",
                "the request line and headers did not arrive within " +
                    Seconds(limits.header_timeout) + " (--header-timeout)",
                ""},
               RejectReason::kHeaderTimeout);
      } else {
        Refuse(c,
               {408, "invalid_request_error", "request_timeout",
                "the request body did not arrive within " + Seconds(limits.body_timeout) +
                    " (--body-timeout)",
                ""},
               RejectReason::kBodyTimeout);
      }
    }
  }

  int NextTimeoutMs() const {
    Clock::time_point next = Clock::now() + std::chrono::seconds(1);
    for (const auto& [fd, c] : conns) {
      if (c->phase != Phase::kServing) next = std::min(next, c->deadline);
    }
    if (!accepting) next = std::min(next, resume_accept);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count() + 1;
    return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
  }

  bool StopRequested() {
    std::lock_guard<std::mutex> lock(mu);
    return stop_requested;
  }

  void Loop() {
    epoll_event events[64];
    while (!StopRequested()) {
      const int n = ::epoll_wait(epoll_fd, events, 64, NextTimeoutMs());
      if (n < 0 && errno != EINTR) {
        LOG(ERROR) << "epoll_wait: " << std::strerror(errno);
        break;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_fd) {
          Accept();
        } else if (fd == wake_fd) {
          uint64_t v;
          (void)!::read(wake_fd, &v, sizeof(v));
          TakeReturned();
        } else {
          OnReadable(fd);
        }
      }
      if (!accepting && Clock::now() >= resume_accept) {
        accepting = true;
        Watch(listen_fd);
      }
      Expire();
    }
  }

  void Shutdown() {
    ::close(listen_fd);
    listen_open = false;
    std::vector<int> waiting;
    for (const auto& [fd, c] : conns) {
      if (c->phase != Phase::kServing) waiting.push_back(fd);
    }
    for (int fd : waiting) Close(fd);
    TakeReturned();  // closes them: a stop was requested
    {
      std::lock_guard<std::mutex> lock(mu);
      stopped = true;  // handler threads close their connections themselves from now on
    }
    pool->shutdown();  // lets the requests being served finish
    TakeReturned();
    conns.clear();  // the served ones were closed by their handler threads
  }
};

ConnectionLoop::ConnectionLoop(int listen_fd, const ConnectionLimits& limits, int threads,
                               PeerOf peer_of, Serve serve,
                               std::function<void(RejectReason)> on_reject)
    : impl_(std::make_unique<Impl>()) {
  impl_->listen_fd = listen_fd;
  impl_->limits = limits;
  impl_->threads = std::max(1, threads);
  impl_->peer_of = std::move(peer_of);
  impl_->serve = std::move(serve);
  impl_->on_reject = on_reject ? std::move(on_reject) : [](RejectReason) {};
  impl_->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  CHECK(impl_->epoll_fd >= 0) << "epoll_create1: " << std::strerror(errno);
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  CHECK(impl_->wake_fd >= 0) << "eventfd: " << std::strerror(errno);
}

ConnectionLoop::~ConnectionLoop() {
  Stop();
  if (impl_->listen_open) ::close(impl_->listen_fd);
  ::close(impl_->epoll_fd);
  ::close(impl_->wake_fd);
}

void ConnectionLoop::Run() {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.stop_requested || m.pool) return;  // stopped before it ran, or running already
    m.pool = std::make_unique<httplib::ThreadPool>(static_cast<size_t>(m.threads));
  }
  m.Watch(m.wake_fd);
  m.Watch(m.listen_fd);
  running_.store(true);
  m.Loop();
  m.Shutdown();
  running_.store(false);
}

void ConnectionLoop::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->stop_requested = true;
  impl_->Wake();
}

}  // namespace odlm::server
