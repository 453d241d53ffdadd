// server/listener.h — the sockets the service accepts connections on, and the hand-off of every
// request to the one server that holds the routes.
//
// cpp-httplib 0.11 (Debian 12) cannot listen on a Unix socket, serves each connection on one of
// its threads from accept to close (so slow or idle clients hold threads and starve everyone),
// and gives handlers no way to see their connection. So the routes live in a RoutingServer that
// never accepts anything itself; a Listener owns a listening socket (loopback TCP, or a Unix
// socket whose peers' uids are checked with SO_PEERCRED against an allow-list) and a
// ConnectionLoop (connection_loop.h) that holds each connection until a whole request has
// arrived, within deadlines and per-peer limits, and only then passes it to a handler thread,
// which serves that one request through the RoutingServer. Nothing reaches the routes except
// through a Listener, so a TCP client cannot pass for a socket peer.
//
// While a request is served, CurrentClientGone() (connection_stream.h) tells its handler (same
// thread) whether the client has gone away, so a waiting request can be cancelled.
//
// Thread-safety: Run blocks on the calling thread; Stop may be called from any thread (not from a
// signal handler). Listeners of one RoutingServer may run at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>

#include "base/status.h"
#include "server/connection_loop.h"
#include "server/connection_stream.h"

namespace odlm::server {

// The server that holds the routes and settings (body limit, handlers). It accepts nothing
// itself: Listeners hand it one request at a time. Open makes it ready to serve; Close ends the
// streams it is writing (each stops at its next piece) — cpp-httplib writes a streamed response
// only while its server socket is valid.
class RoutingServer : public httplib::Server {
 public:
  RoutingServer() = default;
  ~RoutingServer() override;
  void Open();
  void Close();
  // Serves the request at the start of `stream` (its head must be there). Returns whether the
  // connection may carry another request. `last`: answer with Connection: close.
  bool ServeOne(httplib::Stream& stream, bool last);
};

struct ListenerOptions {
  int handler_threads = 64;  // requests served at once (streams hold one each)
  ConnectionLimits limits;
  std::function<void(RejectReason)> on_reject;  // every refused connection or request
};

class Listener {
 public:
  // Listens on host:port (port 0: any free port; see port()). Unavailable with the address and
  // the reason if it cannot.
  static StatusOr<std::unique_ptr<Listener>> Tcp(RoutingServer* routes, const std::string& host,
                                                 int port, const ListenerOptions& options);
  // Listens on the Unix socket `path` (mode 0600, or 0660 when `allow_uids` names a uid other
  // than this process's). A stale socket file (no server answers on it) is replaced; a live one
  // or a file that is not a socket is an error. Connections from a uid not in `allow_uids` get a
  // 403 error object, are closed and are logged. The file is removed when the Listener is
  // destroyed (if it is still the one it created).
  static StatusOr<std::unique_ptr<Listener>> Unix(RoutingServer* routes, const std::string& path,
                                                  std::vector<uid_t> allow_uids,
                                                  const ListenerOptions& options);
  ~Listener();

  int port() const { return port_; }  // TCP only
  const std::string& socket_path() const { return path_; }
  // Connections refused because of the peer's uid (Unix sockets).
  int64_t refused() const;

  // Accepts and serves until Stop. Returns when the socket is closed and handlers are done.
  void Run();
  bool is_running() const;
  void Stop();

  class PeerCheck;  // the Unix socket's uid allow-list (listener.cc)

 private:
  Listener() = default;
  std::shared_ptr<PeerCheck> peers_;
  std::unique_ptr<ConnectionLoop> loop_;
  int port_ = 0;
  std::string path_;  // Unix socket file, empty for TCP
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace odlm::server
