// server/listener.cc — TCP and Unix-socket listeners handing connections to the RoutingServer.
#include "server/listener.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "base/logging.h"
#include "server/api_error.h"
#include "server/log_throttle.h"

namespace odlm::server {
namespace {

// httplib::Server serves one accepted connection (request loop, keep-alive, close) in
// process_and_close_socket, a private virtual function, and has no public way to be handed a
// connection. An explicit instantiation may name a private member ([temp.spec.general]/6), which
// gives the Listeners a pointer to it; calls through it dispatch to the RoutingServer's
// (httplib's own) implementation.
using ServeConnectionFn = bool (httplib::Server::*)(socket_t);
struct ServeConnectionTag {};
ServeConnectionFn ServeConnection(ServeConnectionTag);
template <ServeConnectionFn F>
struct ExposeServeConnection {
  friend ServeConnectionFn ServeConnection(ServeConnectionTag) { return F; }
};
template struct ExposeServeConnection<&httplib::Server::process_and_close_socket>;

thread_local int t_connection_fd = -1;

std::string Errno() { return std::strerror(errno); }

void SetTimeouts(httplib::Server& s, const ListenerOptions& o) {
  s.set_read_timeout(o.read_timeout_seconds, 0);
  s.set_write_timeout(o.write_timeout_seconds, 0);
}

// Reads what the refused client sent (up to the end of its headers, briefly), so that it is
// sending nothing when the answer arrives and reads the 403 instead of a broken pipe.
void DrainRequestHead(int fd) {
  std::string head;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (head.size() < 64 * 1024 && head.find("\r\n\r\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
  }
}

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

// --- RoutingServer -------------------------------------------------------------------------------

RoutingServer::~RoutingServer() { Close(); }

// httplib keeps a connection's request loop going only while its server socket is valid; this
// server has none of its own, so it holds an eventfd in that place while open.
void RoutingServer::Open() {
  if (svr_sock_ != INVALID_SOCKET) return;
  const int fd = ::eventfd(0, EFD_CLOEXEC);
  CHECK(fd >= 0) << "eventfd: " << Errno();
  svr_sock_ = fd;
}

void RoutingServer::Close() {
  const socket_t fd = svr_sock_.exchange(INVALID_SOCKET);
  if (fd != INVALID_SOCKET) ::close(fd);
}

// --- Listener::Gate ------------------------------------------------------------------------------

class Listener::Gate : public httplib::Server {
 public:
  Gate(RoutingServer* routes, const ListenerOptions& options, std::vector<uid_t> allow_uids,
       bool check_peer, std::string name)
      : routes_(routes),
        allow_uids_(std::move(allow_uids)),
        check_peer_(check_peer),
        name_(std::move(name)) {
    const int threads = options.handler_threads;
    new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    SetTimeouts(*this, options);
  }

  // Takes a listening socket this code created (Unix sockets).
  void Adopt(int fd) { svr_sock_ = fd; }
  // Closes the listening socket if Run never took it (stop() closes it only while running).
  void CloseUnused() {
    if (is_running()) return;
    const socket_t fd = svr_sock_.exchange(INVALID_SOCKET);
    if (fd != INVALID_SOCKET) ::close(fd);
  }
  int64_t refused() const { return refused_.load(); }

 private:
  bool process_and_close_socket(socket_t sock) override {
    if (check_peer_ && !PeerAllowed(sock)) {
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
      return false;
    }
    t_connection_fd = sock;
    const bool ok =
        (static_cast<httplib::Server&>(*routes_).*ServeConnection(ServeConnectionTag{}))(sock);
    t_connection_fd = -1;
    return ok;
  }

  bool PeerAllowed(int sock) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    int64_t held = 0;
    if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      const std::string why = Errno();  // before the throttle's allocations can touch errno
      refused_.fetch_add(1);
      if (log_throttle_.Allow("no credentials", LogThrottle::Clock::now(), &held)) {
        LOG(WARNING) << name_ << ": refused a connection: cannot read the peer's credentials "
                     << "(SO_PEERCRED: " << why << ")" << HeldBack(held);
      }
      return false;
    }
    if (std::find(allow_uids_.begin(), allow_uids_.end(), cred.uid) != allow_uids_.end()) {
      return true;
    }
    refused_.fetch_add(1);
    // One line per uid per interval: a peer retrying in a loop cannot flood the log.
    if (log_throttle_.Allow("uid " + std::to_string(cred.uid), LogThrottle::Clock::now(), &held)) {
      LOG(WARNING) << name_ << ": refused a connection from uid " << cred.uid << " (pid "
                   << cred.pid << "): the uid is not allowed (--allow-uid)" << HeldBack(held);
    }
    DrainRequestHead(sock);
    const ApiError e{403, "permission_error", "uid_not_allowed",
                     "uid " + std::to_string(cred.uid) +
                         " may not use this socket; the service allows the uids given with "
                         "--allow-uid (default: its own)",
                     ""};
    const std::string body = e.ToJson();
    SendAll(sock, "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    return false;
  }

  static std::string HeldBack(int64_t held) {
    return held > 0 ? " (" + std::to_string(held) + " more since the last such line, not logged)"
                    : "";
  }

  static constexpr int kRefusalLogSeconds = 10;
  RoutingServer* routes_;
  std::vector<uid_t> allow_uids_;
  bool check_peer_;
  std::string name_;
  std::atomic<int64_t> refused_{0};
  LogThrottle log_throttle_{std::chrono::seconds(kRefusalLogSeconds)};
};

// --- Listener ------------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Listener>> Listener::Tcp(RoutingServer* routes, const std::string& host,
                                                  int port, const ListenerOptions& options) {
  std::unique_ptr<Listener> l(new Listener());
  l->gate_ = std::make_unique<Gate>(routes, options, std::vector<uid_t>{}, false,
                                    host + ":" + std::to_string(port));
  // Debian's cpp-httplib 0.11 listens with a backlog of 5, so a burst of clients connecting at
  // once gets resets. Keep the listening socket's descriptor (set_socket_options sees it before
  // bind) and listen again with a real backlog, which Linux applies to a listening socket.
  int listen_fd = -1;
  l->gate_->set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  if (port == 0) {
    l->port_ = l->gate_->bind_to_any_port(host.c_str());
    if (l->port_ <= 0) return UnavailableError("cannot listen on " + host + ": bind failed");
  } else {
    if (!l->gate_->bind_to_port(host.c_str(), port)) {
      return UnavailableError("cannot listen on " + host + ":" + std::to_string(port) +
                              " (address in use, or not an address of this machine)");
    }
    l->port_ = port;
  }
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  return l;
}

StatusOr<std::unique_ptr<Listener>> Listener::Unix(RoutingServer* routes, const std::string& path,
                                                   std::vector<uid_t> allow_uids,
                                                   const ListenerOptions& options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgumentError("--socket " + path + ": a Unix socket path must be 1 to " +
                                std::to_string(sizeof(addr.sun_path) - 1) + " bytes long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  const socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());

  // An existing file: replace it only if it is a socket nobody listens on (left by a crash).
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return FailedPreconditionError("--socket " + path +
                                     ": the path exists and is not a socket; not replacing it");
    }
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return UnavailableError("socket(AF_UNIX): " + Errno());
    const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), addr_len);
    const int err = errno;
    ::close(probe);
    if (rc == 0) {
      return UnavailableError("--socket " + path + ": another server is listening on it");
    }
    if (err != ECONNREFUSED) {
      return UnavailableError("--socket " + path + ": cannot check the existing socket (" +
                              std::strerror(err) + ")");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return UnavailableError("--socket " + path + ": cannot remove the stale socket (" + Errno() +
                              ")");
    }
  }

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError("socket(AF_UNIX): " + Errno());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    const std::string why = Errno();
    ::close(fd);
    return UnavailableError("--socket " + path + ": bind failed (" + why + ")");
  }
  // Every connection's uid is checked anyway; the mode keeps others from even connecting.
  const uid_t self = ::getuid();
  const bool others =
      std::any_of(allow_uids.begin(), allow_uids.end(), [self](uid_t u) { return u != self; });
  struct stat own {};
  if (::chmod(path.c_str(), others ? 0660 : 0600) != 0 || ::lstat(path.c_str(), &own) != 0 ||
      ::listen(fd, 1024) != 0) {
    const std::string why = Errno();
    ::close(fd);
    ::unlink(path.c_str());
    return UnavailableError("--socket " + path + ": cannot set up the socket (" + why + ")");
  }

  std::unique_ptr<Listener> l(new Listener());
  l->path_ = path;
  l->dev_ = own.st_dev;
  l->ino_ = own.st_ino;
  l->gate_ = std::make_unique<Gate>(routes, options, std::move(allow_uids), true, "unix:" + path);
  l->gate_->Adopt(fd);
  return l;
}

Listener::~Listener() {
  Stop();
  gate_->CloseUnused();
  if (!path_.empty()) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
  }
}

int64_t Listener::refused() const { return gate_->refused(); }

void Listener::Run() { gate_->listen_after_bind(); }

bool Listener::is_running() const { return gate_->is_running(); }

void Listener::Stop() { gate_->stop(); }

// --- CurrentClientGone ---------------------------------------------------------------------------

bool CurrentClientGone() {
  const int fd = t_connection_fd;
  if (fd < 0) return false;
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) return true;
  if (p.revents & POLLIN) {
    char c;
    const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
  return false;
}

}  // namespace odlm::server
