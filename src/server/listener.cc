// server/listener.cc — TCP and Unix-socket listeners handing requests to the RoutingServer.
#include "server/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
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

std::string Errno() { return std::strerror(errno); }

// The peer key of a TCP connection: the client's address (IPv4-mapped IPv6 as IPv4).
std::string TcpPeer(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "unknown";
  char host[NI_MAXHOST] = {};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), nullptr, 0,
                    NI_NUMERICHOST) != 0) {
    return "unknown";
  }
  std::string ip = host;
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
  return ip;
}

ConnectionLoop::Serve ServeThrough(RoutingServer* routes, std::chrono::milliseconds write_timeout) {
  return [routes, write_timeout](ReadyConnection& c) {
    ConnectionStream stream(c.fd, &c.buffer, &c.offset, c.request_bytes, c.body_deadline,
                            write_timeout);
    ConnectionScope scope(c.fd, &stream);
    const bool keep = routes->ServeOne(stream, c.last);
    return keep && !stream.timed_out();
  };
}

}  // namespace

// --- RoutingServer -------------------------------------------------------------------------------

RoutingServer::~RoutingServer() { Close(); }

// cpp-httplib writes a streamed response only while its server socket is valid; this server has
// none of its own, so it holds an eventfd in that place while open.
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

bool RoutingServer::ServeOne(httplib::Stream& stream, bool last) {
  bool closed = false;
  const bool ok = process_request(stream, last, closed, nullptr);
  return ok && !closed && !last;
}

// --- Listener::PeerCheck -------------------------------------------------------------------------

class Listener::PeerCheck {
 public:
  PeerCheck(std::vector<uid_t> allow_uids, std::string name)
      : allow_uids_(std::move(allow_uids)), name_(std::move(name)) {}

  // The peer's key ("uid N"), or the 403 for a uid that is not allowed.
  std::variant<std::string, ApiError> Check(int sock) {
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
      return ApiError{403, "permission_error", "uid_not_allowed",
                      "the peer's credentials cannot be read", ""};
    }
    if (std::find(allow_uids_.begin(), allow_uids_.end(), cred.uid) != allow_uids_.end()) {
      return "uid " + std::to_string(cred.uid);
    }
    refused_.fetch_add(1);
    // One line per uid per interval: a peer retrying in a loop cannot flood the log.
    if (log_throttle_.Allow("uid " + std::to_string(cred.uid), LogThrottle::Clock::now(), &held)) {
      LOG(WARNING) << name_ << ": refused a connection from uid " << cred.uid << " (pid "
                   << cred.pid << "): the uid is not allowed (--allow-uid)" << HeldBack(held);
    }
    return ApiError{403, "permission_error", "uid_not_allowed",
                    "uid " + std::to_string(cred.uid) +
                        " may not use this socket; the service allows the uids given with "
                        "--allow-uid (default: its own)",
                    ""};
  }

  int64_t refused() const { return refused_.load(); }

 private:
  static std::string HeldBack(int64_t held) {
    return held > 0 ? " (" + std::to_string(held) + " more since the last such line, not logged)"
                    : "";
  }

  static constexpr int kRefusalLogSeconds = 10;
  std::vector<uid_t> allow_uids_;
  std::string name_;
  std::atomic<int64_t> refused_{0};
  LogThrottle log_throttle_{std::chrono::seconds(kRefusalLogSeconds)};
};

// --- Listener ------------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Listener>> Listener::Tcp(RoutingServer* routes, const std::string& host,
                                                  int port, const ListenerOptions& options) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    return UnavailableError("cannot listen on " + where + ": " + ::gai_strerror(rc));
  }
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      why = Errno();
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      why = Errno();
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return UnavailableError("cannot listen on " + where + " (" + why +
                            "; address in use, or not an address of this machine)");
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  std::unique_ptr<Listener> l(new Listener());
  l->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  l->loop_ = std::make_unique<ConnectionLoop>(
      fd, options.limits, options.handler_threads,
      [](int sock) -> std::variant<std::string, ApiError> { return TcpPeer(sock); },
      ServeThrough(routes, options.limits.write_timeout), options.on_reject);
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

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
  l->peers_ = std::make_shared<PeerCheck>(std::move(allow_uids), "unix:" + path);
  std::shared_ptr<PeerCheck> peers = l->peers_;
  l->loop_ = std::make_unique<ConnectionLoop>(
      fd, options.limits, options.handler_threads, [peers](int sock) { return peers->Check(sock); },
      ServeThrough(routes, options.limits.write_timeout), options.on_reject);
  return l;
}

Listener::~Listener() {
  Stop();
  loop_.reset();  // closes the listening socket if Run never did
  if (!path_.empty()) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      ::unlink(path_.c_str());
    }
  }
}

int64_t Listener::refused() const { return peers_ ? peers_->refused() : 0; }

void Listener::Run() { loop_->Run(); }

bool Listener::is_running() const { return loop_->is_running(); }

void Listener::Stop() { loop_->Stop(); }

}  // namespace odlm::server
