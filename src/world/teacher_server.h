// world/teacher_server.h — the world teacher (world/teacher.h) behind an OpenAI-compatible HTTP
// API, for `odlm world teacher`: POST /v1/chat/completions (non-streaming; the reply is a function
// of the last user message and the request's "seed"; "model" is echoed) and GET /v1/models (one
// model, "odlm-world-teacher"). A request the teacher cannot serve gets 400 with an OpenAI-style
// error body whose message says why (CoDi gives such a conversation up at once, with the message).
//
// One cpp-httplib server; `threads` workers (each keep-alive connection holds one while open, so
// use at least the synthesizer's --concurrency). Bind, then Run on one thread; Stop from any.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/status.h"
#include "world/teacher.h"

namespace httplib {
class Server;
}

namespace odlm::world {

class TeacherServer {
 public:
  TeacherServer(const Teacher* teacher, int threads);
  ~TeacherServer();
  TeacherServer(const TeacherServer&) = delete;
  TeacherServer& operator=(const TeacherServer&) = delete;

  // Binds host:port (port 0: a free port) and returns the port. Unavailable when it cannot.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(). Call after Bind.
  void Run();
  void Stop();

  int64_t requests() const { return requests_.load(); }
  int64_t errors() const { return errors_.load(); }

 private:
  const Teacher* teacher_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<int64_t> requests_{0}, errors_{0};
};

}  // namespace odlm::world
