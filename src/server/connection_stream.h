// server/connection_stream.h — the httplib::Stream a handler thread serves one request through:
// the bytes the connection loop read ahead (the request's head, and its body when sized), then
// the socket, with deadlines.
//
// Reads never go past the end of the request when its length is known (head + Content-Length;
// cpp-httplib would otherwise read a body-less POST or DELETE until the client closes), and wait
// for the socket only until `read_deadline` (a chunked or 100-continue body): past it they fail,
// and CurrentRequestTimedOut() says so (answered 408). Each write waits at most `write_timeout`
// for room in the socket.
//
// While a ConnectionScope lives, CurrentClientGone() and CurrentRequestTimedOut() answer for its
// connection on that thread. Not thread-safe: one handler thread uses a stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <httplib.h>

namespace odlm::server {

class ConnectionStream : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  // `buffer[*offset...]` holds bytes read ahead; reads consume them (advancing *offset) before
  // the socket. `limit`: bytes of this request from the start of the buffered data
  // (UINT64_MAX: unknown). Borrowed: fd, buffer, offset outlive the stream.
  ConnectionStream(int fd, const std::string* buffer, size_t* offset, uint64_t limit,
                   Clock::time_point read_deadline, std::chrono::milliseconds write_timeout);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  // Bytes of this request read so far (from the buffer and the socket).
  uint64_t consumed() const { return consumed_; }
  bool timed_out() const { return timed_out_; }

 private:
  int fd_;
  const std::string* buffer_;
  size_t* offset_;
  uint64_t limit_;
  uint64_t consumed_ = 0;
  Clock::time_point read_deadline_;
  std::chrono::milliseconds write_timeout_;
  bool timed_out_ = false;
};

// Marks the calling thread as serving `stream`'s connection for the scope's lifetime.
class ConnectionScope {
 public:
  ConnectionScope(int fd, const ConnectionStream* stream);
  ~ConnectionScope();
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;
};

// True when the client of the connection this handler thread serves has closed it or reset it.
// False outside a connection, or when the client is still there. Never blocks.
bool CurrentClientGone();

// True when this handler thread's request failed because its body did not arrive in time.
bool CurrentRequestTimedOut();

}  // namespace odlm::server
