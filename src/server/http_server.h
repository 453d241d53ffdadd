// server/http_server.h — the HTTP face of the service (cpp-httplib): routing, authentication,
// body limits, JSON and SSE responses, over loopback TCP and/or a Unix socket (listener.h).
//
// Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, POST|GET /v1/contexts,
// POST /v1/contexts/{id}/messages, GET|DELETE /v1/contexts/{id}, GET /health, GET /metrics.
// With a keys file every route but /health needs `Authorization: Bearer <key>`; the key is checked
// before the body is read and again after (a key revoked meanwhile gets 401). Connections wait
// for their whole request outside the handler threads, within the limits of `connections`
// (connection_loop.h; docs/SERVE.md "Limits").
// Thread-safety: Run blocks on the calling thread; Stop may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/connection_loop.h"
#include "server/service.h"

namespace odlm::server {

class Listener;
class RoutingServer;

struct HttpOptions {
  bool listen_tcp = true;  // false: only the Unix socket
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port())
  // A Unix socket to listen on as well (or only, without listen_tcp); peers' uids must be in
  // allow_uids (empty: this process's uid only).
  std::string socket_path;
  std::vector<uid_t> allow_uids;
  size_t max_body_bytes = 1 << 20;
  int handler_threads = 64;  // requests served at once (streams hold one each)
  // Deadlines, per-peer and total connection caps (max_body_bytes above wins over
  // connections.max_body_bytes).
  ConnectionLimits connections;
};

class HttpServer {
 public:
  HttpServer(Service* service, const HttpOptions& options);
  ~HttpServer();

  // Binds the listening sockets. Unavailable (with the address and reason) if it cannot.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop. Returns when the listeners have closed and handlers have finished.
  void Run();
  // True once Run is accepting connections on every listener.
  bool is_running() const;
  // Connections refused on the Unix socket because of the peer's uid.
  int64_t refused_connections() const;
  // Stops accepting; in-flight handlers finish. Safe from any thread (not from a signal handler).
  void Stop();
  // New requests get 503 from now on (requests already accepted continue).
  void SetDraining() { draining_.store(true); }

 private:
  void Routes();
  Service* service_;
  HttpOptions options_;
  std::unique_ptr<RoutingServer> http_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  int port_ = 0;
  std::atomic<bool> draining_{false};
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace odlm::server
