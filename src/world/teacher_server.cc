// world/teacher_server.cc — the world teacher over HTTP (contract in teacher_server.h).
#include "world/teacher_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

namespace odlm::world {

using nlohmann::json;

namespace {

constexpr char kModel[] = "odlm-world-teacher";

void Error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  const json body = {{"error", {{"message", message}, {"type", "invalid_request_error"}}}};
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// Rough token counts (a word piece is about 4 bytes) so that synthesis statistics mean something.
int Tokens(const std::string& s) { return static_cast<int>(s.size() / 4 + 1); }

}  // namespace

TeacherServer::TeacherServer(const Teacher* teacher, int threads)
    : teacher_(teacher), server_(std::make_unique<httplib::Server>()) {
  const size_t n = static_cast<size_t>(std::max(1, threads));
  server_->new_task_queue = [n] { return new httplib::ThreadPool(n); };
  server_->set_tcp_nodelay(true);
  server_->Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
    const json body = {
        {"object", "list"},
        {"data", json::array({{{"id", kModel}, {"object", "model"}, {"owned_by", "odlm"}}})}};
    res.set_content(body.dump(), "application/json");
  });
  server_->Post("/v1/chat/completions", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    ++requests_;
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("messages") ||
        !body["messages"].is_array()) {
      ++errors_;
      return Error(res, 400, "the body must be a JSON object with a \"messages\" array");
    }
    std::string prompt;
    bool found = false;
    for (const auto& m : body["messages"]) {
      if (m.is_object() && m.value("role", "") == "user" && m.contains("content") &&
          m["content"].is_string()) {
        prompt = m["content"].get<std::string>();
        found = true;
      }
    }
    if (!found) {
      ++errors_;
      return Error(res, 400, "no user message with string content");
    }
    uint64_t seed = 0;
    if (body.contains("seed") && body["seed"].is_number_integer()) {
      seed = body["seed"].is_number_unsigned() ? body["seed"].get<uint64_t>()
                                               : static_cast<uint64_t>(body["seed"].get<int64_t>());
    }
    auto reply = teacher_->Reply(prompt, seed);
    if (!reply.ok()) {
      ++errors_;
      return Error(res, 400, "odlm world teacher: " + reply.status().message());
    }
    std::string model = kModel;
    if (body.contains("model") && body["model"].is_string()) model = body["model"];
    const int prompt_tokens = Tokens(prompt), completion_tokens = Tokens(*reply);
    const json out = {
        {"id", "chatcmpl-world-" + std::to_string(requests_.load())},
        {"object", "chat.completion"},
        {"created", 0},
        {"model", model},
        {"choices", json::array({{{"index", 0},
                                  {"message", {{"role", "assistant"}, {"content", *reply}}},
                                  {"finish_reason", "stop"}}})},
        {"usage",
         {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}}}};
    res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  });
}

TeacherServer::~TeacherServer() { Stop(); }

StatusOr<int> TeacherServer::Bind(const std::string& host, int port) {
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of connecting synthesis workers would
  // see SYNs dropped. Listen again on the same socket with a real backlog.
  int listen_fd = -1;
  server_->set_socket_options([&listen_fd](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host.c_str());
    if (bound <= 0) return UnavailableError("cannot listen on " + host + ": bind failed");
  } else if (!server_->bind_to_port(host.c_str(), port)) {
    return UnavailableError("cannot listen on " + host + ":" + std::to_string(port) +
                            " (address in use, or not an address of this machine)");
  }
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  return bound;
}

void TeacherServer::Run() { server_->listen_after_bind(); }

void TeacherServer::Stop() { server_->stop(); }

}  // namespace odlm::world
