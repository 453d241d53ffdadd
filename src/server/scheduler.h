// server/scheduler.h — one thread that owns the engine and runs every generation request:
// continuous batching of decode steps, sliced prefill, a bounded queue, cancellation.
//
// Each step is one Engine::EvalBatch over every active request: a request in decode contributes
// its last sampled token; requests still prefilling share a prompt-token budget (prefill_slice
// tokens per step while others decode, max_batch_tokens when nobody decodes), so a long prompt
// never stalls the streams of others for more than one slice. A request that decodes
// speculatively (GenerateOptions::speculative on) is prefilled in the batch like any other, then
// runs one verification pass of its own per step (SpeculativeDecoder::Round: its token and its
// drafts, all of their logits), after the batch: the others' streams wait at most one such pass.
// Requests past max_active wait in a FIFO queue of at most max_queue; Submit refuses more (the
// caller answers 429).
//
// Ownership: a GenRequest is shared between the submitting thread (the HTTP handler, which waits
// on it) and the scheduler. Its session is borrowed: the submitter guarantees nobody else uses it
// until the request finishes. Thread-safety: Submit / Shutdown / stats from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "odlm/engine.h"
#include "odlm/generate.h"
#include "odlm/speculative.h"
#include "server/metrics.h"

namespace odlm::server {

class GenRequest {
 public:
  // Inputs, set before Submit and not touched afterwards by the submitter.
  Session* session = nullptr;  // borrowed, exclusive until finished (or set by `acquire`)
  // Optional lease of the session on the scheduler thread (contexts under ContextMemory: a
  // restore may evaluate, and the engine evaluates on one thread at a time). `acquire` runs at
  // admission and gives the session; `release` runs once after it, when the request finishes
  // (before Finish, so the submitter's next call finds the session released).
  std::function<StatusOr<Session*>()> acquire;
  std::function<void()> release;
  std::vector<int32_t> prompt;  // the full sequence the session holds before generating
  GenerateOptions options;

  // Consumer side. Waits up to `timeout` for new text or the end; appends new text to *text.
  // Returns true once the request has finished (result() is then final).
  bool WaitNext(std::string* text, std::chrono::milliseconds timeout);
  // Waits for the end, discarding nothing (all text is in result().text).
  void WaitDone();
  // Asks the scheduler to stop this request (client gone); it finishes with kCancelled.
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // Valid once finished: the outcome, and seconds from Submit to the first token (or to the end).
  const StatusOr<GenerateResult>& result() const { return result_; }
  double ttft_seconds() const { return ttft_s_; }
  double queue_seconds() const { return queue_s_; }

 private:
  friend class Scheduler;
  void PushText(std::string_view text);
  void Finish(StatusOr<GenerateResult> result);

  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;  // text not yet taken by WaitNext
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
  StatusOr<GenerateResult> result_ = UnavailableError("not finished");
  double ttft_s_ = 0;
  double queue_s_ = 0;
  int64_t submit_ns_ = 0;
};

struct SchedulerOptions {
  int32_t max_active = 16;     // requests generating at once (batch width of decode steps)
  int32_t max_queue = 64;      // requests waiting beyond those
  int32_t prefill_slice = 64;  // prompt tokens per step while other requests decode
};

// True for the status Submit returns when the queue is full (answered 429 "queue_full").
bool IsQueueFull(const Status& status);

class Scheduler {
 public:
  // Starts the scheduler thread. `engine` and `metrics` must outlive it.
  Scheduler(Engine* engine, const SchedulerOptions& options, Metrics* metrics);
  ~Scheduler();  // Shutdown(false)

  // Queues a request. ResourceExhausted when the queue is full, Unavailable after Shutdown;
  // otherwise the request will finish (Finish is called exactly once).
  Status Submit(std::shared_ptr<GenRequest> request);

  // Stops accepting. With drain, runs what is queued and active to completion (or until
  // `deadline`, after which the rest is cancelled); without, cancels everything. Joins the thread.
  void Shutdown(bool drain,
                std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now());

  int64_t queue_depth() const;
  int64_t active() const;
  // Forward passes run and tokens they carried (for the bench and tests).
  int64_t steps() const { return steps_.load(); }
  int64_t max_batch_seen() const { return max_batch_seen_.load(); }
  // Decode-only steps (every item one sampled token, no prompt slice): their count, the tokens
  // they sampled, their wall time (batch building, forward pass, sampling, text out) and the part
  // of it in Engine::EvalBatch. tokens / step_ns is the service's decode-phase rate (S_TG).
  struct DecodeStats {
    int64_t steps = 0;
    int64_t tokens = 0;
    int64_t step_ns = 0;
    int64_t eval_ns = 0;
  };
  DecodeStats decode_stats() const;

 private:
  struct Active;
  void Loop();
  void Admit(std::vector<std::unique_ptr<Active>>* active);
  // Takes one sampled token; returns true when the request finished.
  bool OnToken(Active& a, const std::vector<float>& logits);
  // Records a generated token (text out, stop rules); the reason when generation ends with it.
  std::optional<FinishReason> Record(Active& a, int32_t token);
  // One speculative verification pass of a decoding request; returns true when it finished.
  bool SpeculativeStep(Active& a);
  void Complete(Active& a, FinishReason reason);
  void Fail(Active& a, const Status& status);
  void EndLease(Active& a);
  void PublishGauges(size_t n_active);

  Engine* engine_;
  SchedulerOptions options_;
  Metrics* metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<GenRequest>> queue_;
  int64_t n_active_ = 0;
  bool stopping_ = false;
  bool drain_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<int64_t> steps_{0};
  std::atomic<int64_t> max_batch_seen_{0};
  mutable std::mutex stats_mu_;
  DecodeStats decode_stats_;  // guarded by stats_mu_
  std::thread thread_;
};

}  // namespace odlm::server
