// server/scheduler.cc — the generation loop of the service, batched over requests.
//
// The per-request logic mirrors odlm::Generate (engine/generate.cc): sample, stop at end of
// generation / stop string / max_tokens / full context, evaluate the token next step. It is
// restated here because Generate runs one request to completion, while the service advances all
// requests one token per shared forward pass.
#include "server/scheduler.h"

#include <algorithm>

#include "base/logging.h"
#include "platform/process_stats.h"

namespace odlm::server {

// --- GenRequest -------------------------------------------------------------------------------

bool GenRequest::WaitNext(std::string* text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return done_ || !pending_.empty(); });
  text->append(pending_);
  pending_.clear();
  return done_;
}

void GenRequest::WaitDone() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  pending_.clear();
}

void GenRequest::PushText(std::string_view text) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.append(text);
  }
  cv_.notify_all();
}

void GenRequest::Finish(StatusOr<GenerateResult> result) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(result);
    done_ = true;
  }
  cv_.notify_all();
}

namespace {
constexpr std::string_view kQueueFull = "the request queue is full";
}  // namespace

bool IsQueueFull(const Status& status) {
  return status.code() == StatusCode::kResourceExhausted &&
         std::string_view(status.message()).substr(0, kQueueFull.size()) == kQueueFull;
}

// --- Scheduler --------------------------------------------------------------------------------

struct Scheduler::Active {
  std::shared_ptr<GenRequest> req;
  Sampler sampler;
  std::unique_ptr<TextStream> stream;
  GenerateResult result;
  int64_t pos = 0;        // prompt tokens already in the session
  bool decoding = false;  // prompt done; `last` is the token to evaluate next
  int32_t last = -1;
  int64_t t_start_ns = 0;                       // admission
  int64_t t_first_ns = 0;                       // first token sampled
  bool leased = false;                          // acquire ran and succeeded: release is owed
  std::unique_ptr<SpeculativeDecoder> decoder;  // when the request decodes speculatively

  explicit Active(std::shared_ptr<GenRequest> r)
      : req(std::move(r)), sampler(req->options.sampling) {}
};

Scheduler::Scheduler(Engine* engine, const SchedulerOptions& options, Metrics* metrics)
    : engine_(engine), options_(options), metrics_(metrics) {
  CHECK(options_.max_active >= 1 && options_.max_queue >= 0 && options_.prefill_slice >= 1);
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() { Shutdown(false); }

Status Scheduler::Submit(std::shared_ptr<GenRequest> request) {
  CHECK(request && (request->session != nullptr || request->acquire));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return UnavailableError("the service is shutting down");
    const int64_t free_slots = options_.max_active - n_active_;
    if (static_cast<int64_t>(queue_.size()) >=
        options_.max_queue + std::max<int64_t>(0, free_slots)) {
      return ResourceExhaustedError(std::string(kQueueFull) + " (" +
                                    std::to_string(options_.max_queue) + " waiting); retry later");
    }
    request->submit_ns_ = MonotonicNanos();
    queue_.push_back(std::move(request));
    if (metrics_) metrics_->SetQueueDepth(static_cast<int64_t>(queue_.size()));
  }
  cv_.notify_all();
  return Status::Ok();
}

void Scheduler::Shutdown(bool drain, std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    drain_ = drain;
    deadline_ = deadline;
  }
  cv_.notify_all();
  thread_.join();
}

int64_t Scheduler::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

Scheduler::DecodeStats Scheduler::decode_stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return decode_stats_;
}

int64_t Scheduler::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return n_active_;
}

void Scheduler::PublishGauges(size_t n_active) {
  if (!metrics_) return;
  metrics_->SetActiveRequests(static_cast<int64_t>(n_active));
  metrics_->SetQueueDepth(queue_depth());
}

void Scheduler::Admit(std::vector<std::unique_ptr<Active>>* active) {
  std::vector<std::shared_ptr<GenRequest>> admitted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!queue_.empty() &&
           static_cast<int32_t>(active->size() + admitted.size()) < options_.max_active) {
      admitted.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  for (auto& req : admitted) {
    auto a = std::make_unique<Active>(req);
    a->t_start_ns = MonotonicNanos();
    req->queue_s_ = (a->t_start_ns - req->submit_ns_) / 1e9;
    if (req->cancelled()) {
      Complete(*a, FinishReason::kCancelled);
      continue;
    }
    if (req->options.speculative.enabled()) {
      // Checked, and the draft model prefilled, before the session is touched.
      auto decoder =
          SpeculativeDecoder::Start(*engine_, req->options.speculative, req->options.sampling,
                                    req->prompt, &a->result.speculative);
      if (!decoder.ok()) {
        Fail(*a, decoder.status());
        continue;
      }
      a->decoder = std::move(decoder).value();
    }
    if (req->acquire) {
      StatusOr<Session*> s = req->acquire();
      if (!s.ok()) {
        Fail(*a, s.status());
        continue;
      }
      req->session = *s;
      a->leased = true;
    }
    const int64_t n = static_cast<int64_t>(req->prompt.size());
    if (n == 0) {
      Fail(*a, InvalidArgumentError("the prompt has no tokens"));
      continue;
    }
    if (n >= engine_->n_ctx()) {
      Fail(*a, OutOfRangeError("the prompt has " + std::to_string(n) +
                               " tokens; the context holds " + std::to_string(engine_->n_ctx())));
      continue;
    }
    a->result.prompt_tokens = n;
    a->result.reused_tokens = req->session->KeepCommonPrefix(req->prompt);
    a->pos = a->result.reused_tokens;
    for (int32_t t : req->prompt) a->sampler.Accept(t);
    a->stream = std::make_unique<TextStream>(engine_->tokenizer(), req->prompt.back(),
                                             req->options.stop, req->options.trim_leading_space);
    active->push_back(std::move(a));
  }
  std::lock_guard<std::mutex> lock(mu_);
  n_active_ = static_cast<int64_t>(active->size());
}

void Scheduler::Complete(Active& a, FinishReason reason) {
  a.result.finish = reason;
  if (reason != FinishReason::kStop && reason != FinishReason::kCancelled && a.stream) {
    std::string rest = a.stream->Flush();
    if (!rest.empty()) {
      a.result.text += rest;
      a.req->PushText(rest);
    }
  }
  a.result.speculative.pass_tokens =
      std::max<int64_t>(0, static_cast<int64_t>(a.result.tokens.size()) - 1);
  if (metrics_ && a.decoder) {
    const SpeculativeStats& sp = a.result.speculative;
    metrics_->AddSpeculative(sp.drafted, sp.accepted, sp.passes, sp.pass_tokens);
  }
  const int64_t now = MonotonicNanos();
  const int64_t first = a.t_first_ns ? a.t_first_ns : now;
  a.result.prefill_ms = (first - a.t_start_ns) / 1e6;
  a.result.decode_ms = (now - first) / 1e6;
  a.req->ttft_s_ = (first - a.req->submit_ns_) / 1e9;
  if (metrics_) {
    metrics_->AddTokens(a.result.prompt_tokens, a.result.reused_tokens,
                        static_cast<int64_t>(a.result.tokens.size()));
    if (reason == FinishReason::kCancelled) metrics_->CountCancelled();
  }
  EndLease(a);
  a.req->Finish(std::move(a.result));
}

void Scheduler::Fail(Active& a, const Status& status) {
  EndLease(a);
  a.req->Finish(status);
}

void Scheduler::EndLease(Active& a) {
  if (!a.leased) return;
  a.leased = false;
  if (a.req->release) a.req->release();
}

std::optional<FinishReason> Scheduler::Record(Active& a, int32_t token) {
  const GenerateOptions& o = a.req->options;
  a.result.tokens.push_back(token);
  if (a.t_first_ns == 0) {
    a.t_first_ns = MonotonicNanos();
    if (metrics_) metrics_->ObserveTimeToFirstToken((a.t_first_ns - a.req->submit_ns_) / 1e9);
  }
  if (o.stop_at_end_of_generation && engine_->tokenizer().IsEndOfGeneration(token)) {
    return FinishReason::kEndOfGeneration;
  }
  bool stopped = false;
  std::string piece = a.stream->Push(token, &stopped);
  if (!piece.empty()) {
    a.result.text += piece;
    a.req->PushText(piece);
  }
  if (stopped) return FinishReason::kStop;
  const int64_t generated = static_cast<int64_t>(a.result.tokens.size());
  if (generated >= o.max_tokens) return FinishReason::kLength;
  // The session holds the prompt and every generated token but this one.
  if (a.result.prompt_tokens + generated >= engine_->n_ctx()) return FinishReason::kContextFull;
  return std::nullopt;
}

bool Scheduler::OnToken(Active& a, const std::vector<float>& logits) {
  const int32_t token = a.sampler.Sample(logits);
  a.sampler.Accept(token);
  if (a.decoder) a.decoder->Accept(token);
  if (const auto end = Record(a, token)) {
    Complete(a, *end);
    return true;
  }
  a.last = token;
  a.decoding = true;
  return false;
}

bool Scheduler::SpeculativeStep(Active& a) {
  const GenerateOptions& o = a.req->options;
  const int64_t generated = static_cast<int64_t>(a.result.tokens.size());
  // Drafts may fill what is left of max_tokens and of the context after `a.last`.
  const int64_t room = std::min<int64_t>(o.max_tokens - generated - 1,
                                         engine_->n_ctx() - 1 - a.result.prompt_tokens - generated);
  std::optional<FinishReason> end;
  int32_t next = -1;
  const Status st = a.decoder->Round(
      *engine_, *a.req->session, a.sampler, a.last, room,
      [&](int32_t t) {
        end = Record(a, t);
        return !end.has_value();
      },
      &next, &a.result.speculative);
  if (!st.ok()) {
    LOG(ERROR) << "speculative pass failed: " << st.ToString();
    Fail(a, st);
    return true;
  }
  if (!end) {
    a.decoder->Accept(next);
    end = Record(a, next);
  }
  if (end) {
    Complete(a, *end);
    return true;
  }
  a.last = next;
  return false;
}

void Scheduler::Loop() {
  std::vector<std::unique_ptr<Active>> active;
  std::vector<Engine::BatchItem> items;
  std::vector<Active*> owners;
  std::vector<int64_t> prefill_n;  // [items] prompt tokens carried (0 for a decode token)
  std::vector<std::vector<float>> logits;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active.empty(); });
      if (stopping_) {
        const bool past_deadline = std::chrono::steady_clock::now() >= deadline_;
        if (!drain_ || past_deadline) {
          for (auto& r : queue_) r->Cancel();
          for (auto& a : active) a->req->Cancel();
        }
        if (queue_.empty() && active.empty()) break;
      }
    }
    const int64_t step_start_ns = MonotonicNanos();
    Admit(&active);
    // Drop cancelled requests.
    for (auto it = active.begin(); it != active.end();) {
      if ((*it)->req->cancelled()) {
        Complete(**it, FinishReason::kCancelled);
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    PublishGauges(active.size());
    if (active.empty()) continue;

    // Build one batch: every decoding request's token, then prompt slices within the budget.
    items.clear();
    owners.clear();
    prefill_n.clear();
    bool any_decoding = false;
    for (auto& a : active) {
      if (!a->decoding || a->decoder) continue;  // speculative ones run their own passes
      any_decoding = true;
      items.push_back({a->req->session, std::span<const int32_t>(&a->last, 1)});
      owners.push_back(a.get());
      prefill_n.push_back(0);
    }
    int64_t budget = any_decoding ? options_.prefill_slice : engine_->options().max_batch_tokens;
    for (auto& a : active) {
      if (a->decoding || budget <= 0) continue;
      const int64_t left = static_cast<int64_t>(a->req->prompt.size()) - a->pos;
      const int64_t n = std::min(left, budget);
      budget -= n;
      items.push_back(
          {a->req->session, std::span<const int32_t>(a->req->prompt.data() + a->pos, n)});
      owners.push_back(a.get());
      prefill_n.push_back(n);
    }
    const bool decode_only =
        std::all_of(prefill_n.begin(), prefill_n.end(), [](int64_t n) { return n == 0; });
    const int64_t eval_start_ns = MonotonicNanos();
    Status st = items.empty() ? Status::Ok() : engine_->EvalBatch(items, &logits);
    const int64_t eval_ns = MonotonicNanos() - eval_start_ns;
    if (!items.empty()) steps_.fetch_add(1);
    if (static_cast<int64_t>(items.size()) > max_batch_seen_.load()) {
      max_batch_seen_.store(static_cast<int64_t>(items.size()));
    }
    std::vector<Active*> finished;
    // Speculative requests in decode (never in the batch, whose requests in decode are plain and
    // whose prefilling ones start decoding only below): one pass each.
    for (auto& a : active) {
      if (a->decoder && a->decoding && SpeculativeStep(*a)) finished.push_back(a.get());
    }
    if (!st.ok()) {
      LOG(ERROR) << "batch of " << items.size() << " failed: " << st.ToString();
      for (Active* a : owners) {
        Fail(*a, st);
        finished.push_back(a);
      }
    } else {
      for (size_t i = 0; i < owners.size(); ++i) {
        Active& a = *owners[i];
        if (prefill_n[i] > 0) {
          a.pos += prefill_n[i];
          if (a.pos < static_cast<int64_t>(a.req->prompt.size())) continue;  // more to prefill
        }
        if (OnToken(a, logits[i])) finished.push_back(&a);
      }
    }
    if (!finished.empty()) {
      active.erase(std::remove_if(active.begin(), active.end(),
                                  [&](const std::unique_ptr<Active>& a) {
                                    return std::find(finished.begin(), finished.end(), a.get()) !=
                                           finished.end();
                                  }),
                   active.end());
      {
        std::lock_guard<std::mutex> lock(mu_);
        n_active_ = static_cast<int64_t>(active.size());
      }
      PublishGauges(active.size());
    }
    if (decode_only && st.ok() && !items.empty()) {
      const int64_t step_ns = MonotonicNanos() - step_start_ns;
      {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++decode_stats_.steps;
        decode_stats_.tokens += static_cast<int64_t>(items.size());
        decode_stats_.step_ns += step_ns;
        decode_stats_.eval_ns += eval_ns;
      }
      if (metrics_) metrics_->AddDecodeStep(static_cast<int64_t>(items.size()), step_ns / 1e9);
    }
  }
  PublishGauges(0);
}

}  // namespace odlm::server
