// server/connection_loop.h — accepts a listening socket's connections and holds each one, on a
// single epoll thread, until a whole request has arrived; only then does a handler thread serve
// it. Slow or idle clients therefore never occupy a handler thread, and the service keeps
// answering everyone else while they wait (the event-driven model of nginx-class servers).
//
// A connection waits on the loop thread for:
//   - its request line and headers: at most header_timeout from the connection's start (or from
//     the first byte of a later request on a kept-alive connection); over it, 408
//     request_timeout (closed without an answer if nothing at all was sent); a head larger than
//     max_head_bytes: 431 headers_too_large;
//   - its body, when its length is known: at most body_timeout from the end of the head (408);
//     over max_body_bytes: 413 request_too_large, before any of it is read. Chunked and
//     "Expect: 100-continue" bodies are read by the handler, also within body_timeout;
//   - between requests on a kept-alive connection: idle_timeout, then it is closed.
// Connections are counted per peer (the client's IP address for TCP, its uid for a Unix socket):
// one beyond max_connections_per_peer gets 429 too_many_connections; one beyond max_connections
// in all gets 503 server_busy (as does one whose descriptor does not fit cpp-httplib's select(),
// FD_SETSIZE). Refusals are written without blocking, the connection is half-closed and what the
// client still sends is read and dropped for up to 2 s (so that it reads the answer rather than a
// reset); every refusal is reported to `on_reject`.
//
// Threads: Run blocks the calling thread (the loop) and owns a pool of `threads` handler threads.
// Stop may be called from any thread (not from a signal handler); Run then closes the listening
// socket and every waiting connection, lets handlers finish the requests they serve, and returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "server/api_error.h"
#include "server/metrics.h"

namespace odlm::server {

struct ConnectionLimits {
  int max_connections = 512;           // all peers together (waiting and being served)
  int max_connections_per_peer = 256;  // one peer (loopback clients are all one peer)
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds write_timeout{30000};  // each write of a response
  size_t max_head_bytes = 64 * 1024;
  size_t max_body_bytes = 1 << 20;
  int max_requests_per_connection = 1000;
};

// A connection whose request has arrived, handed to the serve function on a handler thread.
struct ReadyConnection {
  int fd = -1;
  std::string buffer;  // bytes read ahead: the request (all of it when sized), maybe more
  size_t offset = 0;   // where this request starts in buffer
  uint64_t request_bytes = UINT64_MAX;  // head + body, UINT64_MAX when the body is chunked
  std::chrono::steady_clock::time_point body_deadline;  // for what is still to be read
  bool last = false;  // answer with Connection: close (the loop stops, or the count is reached)
};

class ConnectionLoop {
 public:
  // Who the peer of an accepted connection is: its key for the per-peer count, or the refusal
  // to answer with (a Unix socket peer whose uid is not allowed).
  using PeerOf = std::function<std::variant<std::string, ApiError>(int fd)>;
  // Serves the request at the start of `c.buffer[c.offset...]` (advancing c.offset past what it
  // read). Returns whether the connection may carry another request.
  using Serve = std::function<bool(ReadyConnection& c)>;

  // Takes `listen_fd` (a listening, non-blocking socket; closed by Run).
  ConnectionLoop(int listen_fd, const ConnectionLimits& limits, int threads, PeerOf peer_of,
                 Serve serve, std::function<void(RejectReason)> on_reject);
  ~ConnectionLoop();

  void Run();
  void Stop();
  bool is_running() const { return running_.load(); }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> running_{false};
};

// The error body and status line of a refusal written by the loop, as bytes on the wire
// (Connection: close; Retry-After for 429 and 503).
std::string RawErrorResponse(const ApiError& error);

}  // namespace odlm::server
