// codi/teacher.h — the teacher: one or more OpenAI-compatible chat endpoints
// (POST <base>/v1/chat/completions), called through cpp-httplib.
//
// TeacherPool is shared by all workers (thread-safe): it keeps each endpoint's health (a circuit
// breaker, codi/circuit_breaker.h), picks among the endpoints whose circuit lets a request through
// the one with the fewest requests outstanding (ties broken round-robin), counts requests and
// failures per endpoint, and enforces an optional global request rate. A retryable failure counts
// against the endpoint's health; any other reply (an answer, or a 4xx: the endpoint is up) counts
// for it. When every circuit is open the pool still sends (to the least-loaded endpoint): a single
// teacher that is down is then governed by the caller's retries alone, as without a breaker.
// Each worker owns a TeacherSession (NOT thread-safe): its own keep-alive connection per endpoint.
// A call never throws and never retries by itself; it classifies what went wrong so the caller
// (codi/retry.h, codi/conversation.h) can retry with backoff: transport errors, timeouts,
// 408/409/425/429/5xx, unparseable or content-less replies are retryable (429/503 with their
// Retry-After); other 4xx are not (a wrong model name or key will not fix itself).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "codi/circuit_breaker.h"
#include "tokenizer/chat_template.h"

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
  BreakerOptions breaker;          // each endpoint's circuit breaker
};

struct ChatRequest {
  std::string system;  // omitted when empty
  std::string user;
  // When not empty, the conversation sent instead of system + user: roles "system", "user",
  // "assistant" in order, as given.
  std::vector<ChatMessage> messages;
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
  // "no_content", "http_400"), whether a retry may help, how long to wait before it (the server's
  // Retry-After in seconds; -1 when it sent none, or when another endpoint of the pool can take the
  // retry now) and a human-readable detail.
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

// One endpoint's figures (TeacherPool::Stats).
struct EndpointStats {
  std::string url;
  uint64_t requests = 0;
  uint64_t failures = 0;  // requests without an answer (any reason)
  int times_opened = 0;   // its circuit opened (re-openings after a failed probe included)
  CircuitBreaker::State state = CircuitBreaker::State::kClosed;  // at the time of the snapshot
};

class TeacherPool {
 public:
  // Validates every URL (InvalidArgument naming the bad one).
  static StatusOr<std::unique_ptr<TeacherPool>> Create(TeacherOptions options);

  const TeacherOptions& options() const { return options_; }
  size_t size() const { return endpoints_.size(); }

  // One request's endpoint and how its circuit let it through.
  struct Lease {
    int endpoint = -1;
    CircuitBreaker::Admission how = CircuitBreaker::Admission::kNo;
  };
  // Takes an endpoint for one request: among those whose circuit admits one now, the least loaded
  // (outstanding count + 1), not `avoid` (e.g. the endpoint a retry's last attempt failed on)
  // while another is admitted; when none is admitted, the least loaded of all. Counts the request.
  Lease Acquire(int avoid = -1);
  // Gives the endpoint back with the request's result: `health_failure` (a retryable failure)
  // counts against its circuit, anything else for it; `failed` counts a failure in its figures;
  // retry_after_s ≥ 0 holds its requests back that long.
  void Release(const Lease& lease, bool failed, bool health_failure, double retry_after_s);
  // Whether an endpoint other than `except` would take a request now.
  bool OtherAdmitted(int except);
  // Blocks until the rate limit allows one more request (no-op without a limit).
  void WaitForRateSlot();

  std::vector<EndpointStats> Stats();

  struct Endpoint {
    std::string url, base, path;
    int outstanding = 0;
    uint64_t requests = 0, failures = 0;
    CircuitBreaker breaker;
  };
  // Read-only outside the pool's lock: url, base and path.
  const Endpoint& endpoint(int i) const { return *endpoints_[i]; }

 private:
  explicit TeacherPool(TeacherOptions o) : options_(std::move(o)) {}
  double Now() const;  // seconds since the pool was made

  TeacherOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mu_;  // guards the endpoints' counts and breakers, and round_robin_
  uint64_t round_robin_ = 0;
  std::mutex rate_mu_;
  std::chrono::steady_clock::time_point next_slot_{};
};

class TeacherSession {
 public:
  explicit TeacherSession(TeacherPool* pool);
  ~TeacherSession();
  TeacherSession(const TeacherSession&) = delete;
  TeacherSession& operator=(const TeacherSession&) = delete;

  // One request to the endpoint TeacherPool::Acquire(avoid) picks (after the rate limit allows it).
  ChatResult Call(const ChatRequest& request, int avoid = -1);

 private:
  TeacherPool* pool_;
  std::vector<std::unique_ptr<httplib::Client>> clients_;  // [endpoints], created lazily
};

}  // namespace odlm::codi
