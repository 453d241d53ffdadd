// server/metrics.cc — Prometheus text rendering.
#include "server/metrics.h"

#include <algorithm>
#include <cstdio>

#include "base/check.h"

namespace odlm::server {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void Scalar(std::string* out, const char* name, const char* type, const char* help, double v) {
  Header(out, name, type, help);
  *out += name;
  *out += ' ';
  *out += Num(v);
  *out += '\n';
}

// Label values: backslash, quote and newline escaped.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  CHECK(std::is_sorted(bounds_.begin(), bounds_.end()));
}

void Histogram::Observe(double v) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::Render(const std::string& name, std::string* out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out += name + "_bucket{le=\"" + (i < bounds_.size() ? Num(bounds_[i]) : "+Inf") + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  *out += name + "_sum " + Num(sum_) + "\n";
  *out += name + "_count " + std::to_string(count_) + "\n";
}

double Histogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const double want = q * static_cast<double>(count_);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    if (static_cast<double>(cumulative) >= want) return bounds_[i];
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

Metrics::Metrics() : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}) {}

void Metrics::CountRequest(const std::string& route, int http_status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, http_status}];
}

void Metrics::AddTokens(int64_t prompt, int64_t reused, int64_t completion) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += prompt;
  reused_tokens_ += reused;
  completion_tokens_ += completion;
}

void Metrics::ObserveTimeToFirstToken(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.Observe(seconds);
}

void Metrics::CountCancelled() {
  std::lock_guard<std::mutex> lock(mu_);
  ++cancelled_;
}

void Metrics::AddDecodeStep(int64_t tokens, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++decode_steps_;
  decode_tokens_ += tokens;
  decode_seconds_ += seconds;
}

void Metrics::AddSpeculative(int64_t drafted, int64_t accepted, int64_t passes,
                             int64_t pass_tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  ++spec_generations_;
  spec_drafted_ += drafted;
  spec_accepted_ += accepted;
  spec_passes_ += passes;
  spec_pass_tokens_ += pass_tokens;
}

int64_t Metrics::speculative_accepted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spec_accepted_;
}

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kQueueFull:
      return "queue_full";
    case RejectReason::kAppQueueFull:
      return "app_queue_full";
    case RejectReason::kAppContexts:
      return "app_contexts";
    case RejectReason::kConnectionsPerPeer:
      return "connections_per_peer";
    case RejectReason::kConnectionsTotal:
      return "connections_total";
    case RejectReason::kHeaderTimeout:
      return "header_timeout";
    case RejectReason::kBodyTimeout:
      return "body_timeout";
    case RejectReason::kHeadersTooLarge:
      return "headers_too_large";
    case RejectReason::kBodyTooLarge:
      return "body_too_large";
    case RejectReason::kShuttingDown:
      return "shutting_down";
    case RejectReason::kMalformedHead:
      return "malformed_head";
    case RejectReason::kPeerNotAllowed:
      return "peer_not_allowed";
  }
  return "other";
}

void Metrics::CountRejected(RejectReason reason) {
  const int i = static_cast<int>(reason);
  CHECK(i >= 0 && i < kRejectReasons);
  std::lock_guard<std::mutex> lock(mu_);
  ++rejected_[i];
}

uint64_t Metrics::rejected(RejectReason reason) const {
  std::lock_guard<std::mutex> lock(mu_);
  return rejected_[static_cast<int>(reason)];
}

void Metrics::SetQueueDepth(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_depth_ = n;
}

void Metrics::SetActiveRequests(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  active_requests_ = n;
}

void Metrics::SetContexts(int64_t total, int64_t resident) {
  std::lock_guard<std::mutex> lock(mu_);
  contexts_ = total;
  contexts_resident_ = resident;
}

void Metrics::SetKvBytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  kv_bytes_ = bytes;
}

void Metrics::SetContextMemory(int64_t stored, int64_t working, int64_t budget, int64_t evictions) {
  std::lock_guard<std::mutex> lock(mu_);
  has_context_memory_ = true;
  cm_stored_ = stored;
  cm_working_ = working;
  cm_budget_ = budget;
  cm_evictions_ = evictions;
}

void Metrics::SetAdapterDir(int64_t adapters, int64_t loads, int64_t load_errors) {
  std::lock_guard<std::mutex> lock(mu_);
  has_adapter_dir_ = true;
  dir_adapters_ = adapters;
  dir_loads_ = loads;
  dir_load_errors_ = load_errors;
}

int64_t Metrics::prompt_tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return prompt_tokens_;
}

int64_t Metrics::completion_tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return completion_tokens_;
}

uint64_t Metrics::requests(const std::string& route, int http_status) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find({route, http_status});
  return it == requests_.end() ? 0 : it->second;
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  Header(&out, "odlm_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, n] : requests_) {
    out += "odlm_requests_total{route=\"" + Escape(key.first) + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  Scalar(&out, "odlm_prompt_tokens_total", "counter", "Prompt tokens of completed generations.",
         static_cast<double>(prompt_tokens_));
  Scalar(&out, "odlm_prompt_tokens_reused_total", "counter",
         "Prompt tokens served from cached KV (prefix reuse) instead of computed.",
         static_cast<double>(reused_tokens_));
  Scalar(&out, "odlm_completion_tokens_total", "counter", "Generated tokens.",
         static_cast<double>(completion_tokens_));
  Scalar(&out, "odlm_generations_cancelled_total", "counter",
         "Generations cancelled because the client went away.", static_cast<double>(cancelled_));
  Scalar(&out, "odlm_decode_steps_total", "counter",
         "Decode-only forward passes (one sampled token per active request, no prompt slice).",
         static_cast<double>(decode_steps_));
  Scalar(&out, "odlm_decode_tokens_total", "counter", "Tokens sampled in decode-only passes.",
         static_cast<double>(decode_tokens_));
  Scalar(&out, "odlm_decode_seconds_total", "counter",
         "Wall time of decode-only passes; decode tokens / seconds is the decode-phase rate.",
         decode_seconds_);
  Scalar(&out, "odlm_speculative_generations_total", "counter",
         "Generations that decoded speculatively (a request's or the server's drafter on).",
         static_cast<double>(spec_generations_));
  Scalar(&out, "odlm_speculative_drafted_tokens_total", "counter",
         "Draft tokens the model verified; accepted / drafted is the acceptance rate.",
         static_cast<double>(spec_drafted_));
  Scalar(&out, "odlm_speculative_accepted_tokens_total", "counter",
         "Draft tokens the model accepted.", static_cast<double>(spec_accepted_));
  Scalar(&out, "odlm_speculative_passes_total", "counter",
         "Forward passes of speculative generations after their prefill.",
         static_cast<double>(spec_passes_));
  Scalar(&out, "odlm_speculative_pass_tokens_total", "counter",
         "Tokens those passes produced; pass tokens / passes is the tokens per forward pass.",
         static_cast<double>(spec_pass_tokens_));
  Scalar(&out, "odlm_speculative_acceptance_rate", "gauge",
         "Accepted / drafted tokens over all speculative generations so far (0 before any).",
         spec_drafted_ > 0 ? static_cast<double>(spec_accepted_) / spec_drafted_ : 0.0);
  Scalar(&out, "odlm_speculative_tokens_per_pass", "gauge",
         "Tokens per forward pass over all speculative generations so far (0 before any).",
         spec_passes_ > 0 ? static_cast<double>(spec_pass_tokens_) / spec_passes_ : 0.0);
  Header(&out, "odlm_requests_rejected_total", "counter",
         "Requests (and connections) refused, by reason: 429 queue_full, app_queue_full, "
         "app_contexts, connections_per_peer; 503 connections_total, shutting_down; 408 "
         "header_timeout, body_timeout; 431 headers_too_large; 413 body_too_large; 400 "
         "malformed_head; 403 peer_not_allowed.");
  for (int i = 0; i < kRejectReasons; ++i) {
    out += std::string("odlm_requests_rejected_total{reason=\"") +
           RejectReasonName(static_cast<RejectReason>(i)) + "\"} " + std::to_string(rejected_[i]) +
           "\n";
  }
  Scalar(&out, "odlm_queue_depth", "gauge", "Generation requests waiting for a slot.",
         static_cast<double>(queue_depth_));
  Scalar(&out, "odlm_active_requests", "gauge", "Generations in progress (prefill or decode).",
         static_cast<double>(active_requests_));
  Scalar(&out, "odlm_contexts", "gauge", "Persistent contexts (all apps).",
         static_cast<double>(contexts_));
  Scalar(&out, "odlm_active_contexts", "gauge", "Persistent contexts whose KV cache is in memory.",
         static_cast<double>(contexts_resident_));
  Scalar(&out, "odlm_kv_memory_bytes", "gauge",
         "Bytes of KV cache allocated (contexts and cached sessions).",
         static_cast<double>(kv_bytes_));
  if (has_context_memory_) {
    Scalar(&out, "odlm_kv_context_stored_bytes", "gauge",
           "KV bytes the context memory stores for contexts (bounded by the budget).",
           static_cast<double>(cm_stored_));
    Scalar(&out, "odlm_kv_context_working_bytes", "gauge",
           "fp16 working KV caches: one per context answering now, and llms' warm one.",
           static_cast<double>(cm_working_));
    Scalar(&out, "odlm_kv_budget_bytes", "gauge", "The context memory's budget (0: none).",
           static_cast<double>(cm_budget_));
    Scalar(&out, "odlm_kv_evictions_total", "counter",
           "KV evictions by the context memory (chunks for llms, contexts otherwise).",
           static_cast<double>(cm_evictions_));
  }
  if (has_adapter_dir_) {
    Scalar(&out, "odlm_adapter_dir_adapters", "gauge",
           "Adapters registered from --adapters-dir now.", static_cast<double>(dir_adapters_));
    Scalar(&out, "odlm_adapter_dir_loads_total", "counter",
           "Adapter versions loaded from --adapters-dir (new and replaced).",
           static_cast<double>(dir_loads_));
    Scalar(&out, "odlm_adapter_dir_load_errors_total", "counter",
           "Adapter versions in --adapters-dir that failed to load (each logged once).",
           static_cast<double>(dir_load_errors_));
  }
  Header(&out, "odlm_time_to_first_token_seconds", "histogram",
         "Time from a request's arrival to its first generated token.");
  ttft_.Render("odlm_time_to_first_token_seconds", &out);
  return out;
}

}  // namespace odlm::server
