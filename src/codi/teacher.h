// codi/teacher.h — the teacher: one or more OpenAI-compatible chat endpoints
// (POST <base>/v1/chat/completions), called through cpp-httplib.
//
// TeacherPool is shared by all workers (thread-safe): it picks the endpoint with the fewest
// requests outstanding (ties broken round-robin) and enforces an optional global request rate.
// Each worker owns a TeacherSession (NOT thread-safe): its own keep-alive connection per endpoint.
// A call never throws and never retries by itself; it classifies what went wrong so the caller
// (codi/conversation.h) can retry with backoff: transport errors, timeouts, 408/409/425/429/5xx,
// unparseable or content-less replies are retryable (429/503 with their Retry-After); other 4xx
// are not (a wrong model name or key will not fix itself).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace httplib {
class Client;
}

namespace odlm::codi {

struct TeacherOptions {
  std::vector<std::string> urls;  // "http://host:port" or ".../v1"; https too
  std::string model;
  std::string api_key;  // sent as "Authorization: Bearer KEY" when non-empty
  double connect_timeout_s = 10;
  double request_timeout_s = 180;  // read timeout of one request
  double max_requests_per_s = 0;   // all endpoints together; 0: no limit
};

struct ChatRequest {
  std::string system;  // omitted when empty
  std::string user;
  int max_tokens = 256;
  double temperature = 0.8;
  double top_p = 0.95;
  uint64_t seed = 0;
};

struct ChatResult {
  bool ok = false;
  std::string content;  // ok: choices[0].message.content
  int prompt_tokens = 0, completion_tokens = 0;
  // !ok: a short machine-readable reason ("http_503", "timeout", "connection", "bad_json",
  // "no_content", "http_400"), whether a retry may help, the server's Retry-After (seconds, -1 if
  // none) and a human-readable detail.
  std::string reason;
  bool retryable = false;
  double retry_after_s = -1;
  std::string detail;
  double seconds = 0;  // wall time of the HTTP exchange
  int endpoint = -1;
};

// Parses "http[s]://host[:port][/prefix]" into the client base ("http://host:port") and the
// request path ("/prefix/v1/chat/completions"; a trailing "/v1" in the URL is accepted).
Status ParseTeacherUrl(const std::string& url, std::string* base, std::string* path);

// The body of a chat completions request (non-streaming), as JSON text.
std::string ChatRequestJson(const ChatRequest& r, const std::string& model);

// Interprets an HTTP reply (status, Retry-After header value or "", body).
ChatResult InterpretReply(int status, const std::string& retry_after, const std::string& body);

class TeacherPool {
 public:
  // Validates every URL (InvalidArgument naming the bad one).
  static StatusOr<std::unique_ptr<TeacherPool>> Create(TeacherOptions options);

  const TeacherOptions& options() const { return options_; }
  size_t size() const { return endpoints_.size(); }

  // Takes the least-loaded endpoint (its outstanding count + 1); Release gives it back.
  int Acquire();
  void Release(int endpoint);
  // Blocks until the rate limit allows one more request (no-op without a limit).
  void WaitForRateSlot();

  struct Endpoint {
    std::string url, base, path;
    std::atomic<int> outstanding{0};
  };
  Endpoint& endpoint(int i) { return *endpoints_[i]; }

 private:
  explicit TeacherPool(TeacherOptions o) : options_(std::move(o)) {}
  TeacherOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<uint64_t> round_robin_{0};
  std::mutex rate_mu_;
  std::chrono::steady_clock::time_point next_slot_{};
};

class TeacherSession {
 public:
  explicit TeacherSession(TeacherPool* pool);
  ~TeacherSession();
  TeacherSession(const TeacherSession&) = delete;
  TeacherSession& operator=(const TeacherSession&) = delete;

  // One request to the least-loaded endpoint (after the rate limit allows it).
  ChatResult Call(const ChatRequest& request);

 private:
  TeacherPool* pool_;
  std::vector<std::unique_ptr<httplib::Client>> clients_;  // [endpoints], created lazily
};

}  // namespace odlm::codi
