// server/listener.h — the sockets the service accepts connections on, and the hand-off of every
// accepted connection to the one server that holds the routes.
//
// cpp-httplib 0.11 (Debian 12) cannot listen on a Unix socket and gives handlers no way to see
// their connection. So the routes live in a RoutingServer that never accepts anything itself; a
// Listener owns a listening socket (loopback TCP, or a Unix socket whose peers' uids are checked
// with SO_PEERCRED against an allow-list), accepts on its own thread pool and passes each
// connection to the RoutingServer's connection handler on the accepting pool's thread. Nothing
// reaches the routes except through a Listener, so a TCP client cannot pass for a socket peer.
//
// While a connection is served, CurrentClientGone() tells its handler (same thread) whether the
// client has gone away, so a waiting request can be cancelled.
//
// Thread-safety: Run blocks on the calling thread; Stop may be called from any thread (not from a
// signal handler). Listeners of one RoutingServer may run at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>

#include "base/status.h"

namespace odlm::server {

// The server that holds the routes and settings (timeouts, body limit). It accepts nothing
// itself: Open makes it ready to serve connections handed over by Listeners; Close ends their
// keep-alive loops (each finishes the request it is on).
class RoutingServer : public httplib::Server {
 public:
  RoutingServer() = default;
  ~RoutingServer() override;
  void Open();
  void Close();
};

struct ListenerOptions {
  int handler_threads = 64;  // connections served at once
  int read_timeout_seconds = 30;
  int write_timeout_seconds = 30;
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

  class Gate;  // the accepting httplib::Server (listener.cc)

 private:
  Listener() = default;
  std::unique_ptr<Gate> gate_;
  int port_ = 0;
  std::string path_;  // Unix socket file, empty for TCP
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// True when the client of the connection this handler thread serves has closed it or reset it.
// False outside a Listener's connection, or when the client is still there. Never blocks.
bool CurrentClientGone();

}  // namespace odlm::server
