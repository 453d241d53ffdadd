// server/metrics.h — the service's counters, gauges and histograms, rendered in the Prometheus
// text exposition format (version 0.0.4) for GET /metrics.
//
// Metrics is thread-safe: every method may be called from any thread (one mutex; updates are a
// few per request, so contention is negligible next to a forward pass). Histogram is not: its
// owner serializes it (Metrics keeps its histograms under its mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace odlm::server {

// A cumulative histogram with fixed upper bounds (seconds, ascending). Not thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Appends `name_bucket{le=...}`, `name_sum` and `name_count` lines.
  void Render(const std::string& name, std::string* out) const;
  uint64_t count() const { return count_; }
  // The smallest bucket bound with at least q of the observations at or below it (q in (0, 1]).
  double Quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // [bounds_.size() + 1]: the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Why a request (or a connection, before it could make one) was refused. Every refusal is
// counted under exactly one reason: odlm_requests_rejected_total{reason="..."}.
enum class RejectReason {
  kQueueFull,           // 429 queue_full: the scheduler's queue (--max-queue) was full
  kAppQueueFull,        // 429 app_queue_full: the app's in-flight slots and its queue were taken
  kAppContexts,         // 429 limit_exceeded: the app holds its most contexts
  kConnectionsPerPeer,  // 429 too_many_connections: the peer holds its most connections
  kConnectionsTotal,    // 503 server_busy: the service holds its most connections
  kHeaderTimeout,       // 408 request_timeout: the request line and headers came too slowly
  kBodyTimeout,         // 408 request_timeout: the body came too slowly
  kHeadersTooLarge,     // 431 headers_too_large
  kBodyTooLarge,        // 413 request_too_large
  kShuttingDown,        // 503 unavailable: the service is draining
  kMalformedHead,       // 400: a request head the connection loop cannot frame
  kPeerNotAllowed,      // 403 uid_not_allowed: a Unix socket peer whose uid is not allowed
};
inline constexpr int kRejectReasons = 12;
// The label value of a reason ("queue_full", "app_queue_full", …).
const char* RejectReasonName(RejectReason reason);

class Metrics {
 public:
  Metrics();

  // One answered HTTP request (route pattern, not the raw path, so labels stay bounded).
  void CountRequest(const std::string& route, int http_status);
  void AddTokens(int64_t prompt, int64_t reused, int64_t completion);
  void ObserveTimeToFirstToken(double seconds);
  void CountCancelled();
  void CountRejected(RejectReason reason);
  // A decode-only scheduler step: tokens sampled and its wall time. Their ratio over a window is
  // the decode-phase rate (S_TG), prefill excluded.
  void AddDecodeStep(int64_t tokens, double seconds);
  // A finished generation that decoded speculatively: its drafted and accepted tokens, its
  // forward passes after prefill and the tokens they produced (odlm/speculative.h).
  void AddSpeculative(int64_t drafted, int64_t accepted, int64_t passes, int64_t pass_tokens);

  // Gauges, set by their owners whenever they change.
  void SetQueueDepth(int64_t n);
  void SetActiveRequests(int64_t n);
  void SetContexts(int64_t total, int64_t resident);
  void SetKvBytes(int64_t bytes);
  // With a context memory (--kv-budget / --kv-policy): its stored and working bytes, its budget
  // (0: none) and evictions so far. Rendered only once set.
  void SetContextMemory(int64_t stored, int64_t working, int64_t budget, int64_t evictions);
  // With --adapters-dir: adapters registered from it now, loads so far, versions that failed to
  // load so far. Rendered only once set.
  void SetAdapterDir(int64_t adapters, int64_t loads, int64_t load_errors);

  std::string Render() const;

  // For tests and the bench: snapshot values.
  int64_t prompt_tokens() const;
  int64_t completion_tokens() const;
  int64_t speculative_accepted() const;
  uint64_t requests(const std::string& route, int http_status) const;
  uint64_t rejected(RejectReason reason) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  int64_t prompt_tokens_ = 0;
  int64_t reused_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  uint64_t cancelled_ = 0;
  uint64_t rejected_[kRejectReasons] = {};
  int64_t decode_steps_ = 0;
  int64_t decode_tokens_ = 0;
  double decode_seconds_ = 0;
  int64_t spec_generations_ = 0, spec_drafted_ = 0, spec_accepted_ = 0, spec_passes_ = 0,
          spec_pass_tokens_ = 0;
  int64_t queue_depth_ = 0;
  int64_t active_requests_ = 0;
  int64_t contexts_ = 0;
  int64_t contexts_resident_ = 0;
  int64_t kv_bytes_ = 0;
  bool has_context_memory_ = false;
  int64_t cm_stored_ = 0, cm_working_ = 0, cm_budget_ = 0, cm_evictions_ = 0;
  bool has_adapter_dir_ = false;
  int64_t dir_adapters_ = 0, dir_loads_ = 0, dir_load_errors_ = 0;
  Histogram ttft_;
};

}  // namespace odlm::server
