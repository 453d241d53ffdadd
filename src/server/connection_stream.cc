// server/connection_stream.cc — reads from the read-ahead buffer, then the socket, with deadlines.
#include "server/connection_stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace odlm::server {
namespace {

thread_local int t_connection_fd = -1;
thread_local const ConnectionStream* t_stream = nullptr;

int MillisUntil(ConnectionStream::Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - ConnectionStream::Clock::now())
                        .count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

// Waits for `events` on fd until `deadline`; true when they came.
bool WaitFor(int fd, short events, ConnectionStream::Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, MillisUntil(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// The client has closed or reset the connection (no wait).
bool PeerGone(int fd) {
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

void IpAndPort(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  if (addr.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  } else {
    return;  // a Unix socket: no address
  }
  char host[NI_MAXHOST] = {};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), nullptr, 0,
                    NI_NUMERICHOST) == 0) {
    ip = host;
  }
}

}  // namespace

ConnectionStream::ConnectionStream(int fd, const std::string* buffer, size_t* offset,
                                   uint64_t limit, Clock::time_point read_deadline,
                                   std::chrono::milliseconds write_timeout)
    : fd_(fd),
      buffer_(buffer),
      offset_(offset),
      limit_(limit),
      read_deadline_(read_deadline),
      write_timeout_(write_timeout) {}

bool ConnectionStream::is_readable() const {
  if (consumed_ >= limit_) return true;  // read() answers at once (end of the request)
  if (*offset_ < buffer_->size()) return true;
  return WaitFor(fd_, POLLIN, read_deadline_);
}

bool ConnectionStream::is_writable() const {
  return WaitFor(fd_, POLLOUT, Clock::now() + write_timeout_) && !PeerGone(fd_);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (consumed_ >= limit_) return 0;  // the request ends here
  size = static_cast<size_t>(std::min<uint64_t>(size, limit_ - consumed_));
  if (*offset_ < buffer_->size()) {
    const size_t n = std::min(size, buffer_->size() - *offset_);
    std::memcpy(ptr, buffer_->data() + *offset_, n);
    *offset_ += n;
    consumed_ += n;
    return static_cast<ssize_t>(n);
  }
  for (;;) {
    if (!WaitFor(fd_, POLLIN, read_deadline_)) {
      timed_out_ = Clock::now() >= read_deadline_;
      return -1;
    }
    const ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n > 0) consumed_ += static_cast<uint64_t>(n);
    return n;
  }
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  for (;;) {
    if (!WaitFor(fd_, POLLOUT, Clock::now() + write_timeout_)) return -1;
    const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    return n;
  }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    IpAndPort(addr, len, ip, port);
  }
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    IpAndPort(addr, len, ip, port);
  }
}

ConnectionScope::ConnectionScope(int fd, const ConnectionStream* stream) {
  t_connection_fd = fd;
  t_stream = stream;
}

ConnectionScope::~ConnectionScope() {
  t_connection_fd = -1;
  t_stream = nullptr;
}

bool CurrentClientGone() {
  const int fd = t_connection_fd;
  return fd >= 0 && PeerGone(fd);
}

bool CurrentRequestTimedOut() { return t_stream != nullptr && t_stream->timed_out(); }

}  // namespace odlm::server
