// server/service.cc — apps, contexts, session caches and admission of generations.
#include "server/service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "base/logging.h"

namespace odlm::server {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewContextId() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static const char kDigits[] = "0123456789abcdef";
  std::string id = "ctx_";
  for (unsigned char b : bytes) {
    id += kDigits[b >> 4];
    id += kDigits[b & 15];
  }
  return id;
}

GenerateOptions ToOptions(const GenerationParams& p) {
  GenerateOptions o;
  o.max_tokens = p.max_tokens;
  o.stop = p.stop;
  o.stop_at_end_of_generation = !p.ignore_eos;
  o.trim_leading_space = p.chat_reply;
  o.sampling = SamplingParams();
  o.sampling.temperature = p.temperature;
  o.sampling.top_p = p.top_p;
  o.sampling.top_k = 0;  // OpenAI semantics: no top-k unless asked
  o.sampling.min_p = 0.0f;
  o.sampling.frequency_penalty = p.frequency_penalty;
  o.sampling.presence_penalty = p.presence_penalty;
  o.sampling.seed =
      p.seed ? *p.seed
             : static_cast<uint64_t>(std::random_device()()) << 32 | std::random_device()();
  return o;
}

// The speculative options of a request: the server's, with the request's "speculative" over
// them. InvalidArgument for a draft model the server does not have.
StatusOr<SpeculativeOptions> RequestSpeculative(const std::optional<SpeculativeParam>& param,
                                                SpeculativeOptions o, SpeculativeTuning* tuning) {
  o.tuning = tuning;
  o.draft_session = nullptr;
  if (!param) return o;
  if (!param->enabled) {
    o.draft_max = 0;
    return o;
  }
  Engine* server_draft = o.draft_engine;
  if (!o.enabled() && !param->lookup_ngram && !param->draft_model) {
    o.lookup_ngram = 3;  // "true" on a server without a drafter: prompt lookup
    o.lookup_ngram_min = 2;
  }
  if (o.draft_max <= 0) o.draft_max = 8;
  if (param->draft_max) o.draft_max = *param->draft_max;
  if (param->lookup_ngram) o.lookup_ngram = *param->lookup_ngram;
  if (param->lookup_ngram_min) o.lookup_ngram_min = *param->lookup_ngram_min;
  if (param->draft_p_min) o.draft_p_min = *param->draft_p_min;
  if (param->draft_model) {
    if (*param->draft_model && server_draft == nullptr) {
      return InvalidArgumentError(
          "'speculative.draft_model': this server has no draft model (odlm serve --draft-model)");
    }
    o.draft_engine = *param->draft_model ? server_draft : nullptr;
  }
  return o;
}

constexpr std::string_view kAppQueueFull = "the app's request queue is full";

}  // namespace

bool IsAppQueueFull(const Status& status) {
  return status.code() == StatusCode::kResourceExhausted &&
         std::string_view(status.message()).substr(0, kAppQueueFull.size()) == kAppQueueFull;
}

// --- Job ----------------------------------------------------------------------------------------

Job::~Job() { Release(); }

void Job::Release() {
  if (released_) return;
  released_ = true;
  if (req_) {
    // If still running, the handler is gone (the client left): make the scheduler let go.
    req_->Cancel();
    req_->WaitDone();
  }
  if (service_) service_->Release(this);
}

Status Job::Commit() {
  if (context_id_.empty() || committed_) return Status::Ok();
  const auto& result = req_->result();
  if (!result.ok()) return result.status();
  const int64_t now = NowMs();
  {
    std::lock_guard<std::mutex> lock(service_->mu_);
    auto it = service_->contexts_.find(context_id_);
    if (it == service_->contexts_.end()) return NotFoundError("the context was deleted");
  }
  RETURN_IF_ERROR(service_->store_->AppendTurn(context_id_, user_content_, result->text, now));
  std::lock_guard<std::mutex> lock(service_->mu_);
  auto it = service_->contexts_.find(context_id_);
  if (it != service_->contexts_.end()) {
    it->second.stored.messages.push_back({"user", user_content_});
    it->second.stored.messages.push_back({"assistant", result->text});
    it->second.stored.updated_ms = now;
  }
  committed_ = true;
  return Status::Ok();
}

// --- Service ------------------------------------------------------------------------------------

Service::Service(Engine* engine, const ServiceOptions& options)
    : engine_(engine), options_(options) {}

Service::~Service() { Shutdown(false, std::chrono::steady_clock::now()); }

StatusOr<std::unique_ptr<Service>> Service::Create(Engine* engine, const ServiceOptions& options,
                                                   std::unique_ptr<KeyStore> keys) {
  std::unique_ptr<Service> s(new Service(engine, options));
  s->keys_ = std::move(keys);
  s->local_app_.name = "local";
  s->local_app_.id = "local";
  s->local_app_.limits = options.local_limits;
  s->created_unix_ = NowMs() / 1000;
  ASSIGN_OR_RETURN(s->renderer_, PromptRenderer::Create(*engine, options.chat_template));
  ASSIGN_OR_RETURN(s->store_, ContextStore::Open(options.state_dir));
  ASSIGN_OR_RETURN(std::vector<StoredContext> stored, s->store_->LoadAll());
  for (auto& c : stored) {
    ++s->apps_[c.app].contexts;
    const std::string id = c.id;
    s->contexts_[id].stored = std::move(c);
  }
  if (!stored.empty()) LOG(INFO) << "restored " << stored.size() << " contexts";
  if (options.context_memory) {
    // Opened before the scheduler starts: measuring costs evaluates on the engine.
    ASSIGN_OR_RETURN(s->memory_, ContextMemory::Open(engine, *options.context_memory));
    for (const std::string& key : s->memory_->List()) {  // KV of contexts deleted meanwhile
      if (!s->contexts_.count(key)) RETURN_IF_ERROR(s->memory_->Delete(key));
    }
  }
  s->scheduler_ = std::make_unique<Scheduler>(engine, options.scheduler, &s->metrics_);
  return s;
}

const AppRecord* Service::Authenticate(std::string_view bearer_key) const {
  if (!keys_) return &local_app_;
  return keys_->Authenticate(bearer_key);
}

int64_t Service::ContextLimit(const AppRecord& app) const {
  const int64_t n_ctx = engine_->n_ctx();
  const int64_t l = app.limits.max_context_tokens;
  return l > 0 ? std::min(l, n_ctx) : n_ctx;
}

std::unique_ptr<Session> Service::TakeSession(const std::string& app,
                                              const std::vector<int32_t>& prompt,
                                              const std::vector<AdapterChoice>& adapters) {
  // Called with mu_ held. Among sessions under the same adapter set (Session::AdapterKey: KV
  // computed under another set is no prefix of this request's), the longest shared prefix.
  auto& idle = apps_[app].idle;
  auto best = idle.end();
  bool best_same_set = false;
  size_t best_len = 0;  // tokens shared with the prompt
  for (auto it = idle.begin(); it != idle.end(); ++it) {
    const bool same_set = (*it)->adapters() == adapters;
    size_t n = 0;
    if (same_set) {
      const auto& t = (*it)->tokens();
      while (n < t.size() && n < prompt.size() && t[n] == prompt[n]) ++n;
    }
    if (best == idle.end() || (same_set && !best_same_set) ||
        (same_set == best_same_set && n > best_len)) {
      best = it;
      best_same_set = same_set;
      best_len = n;
    }
  }
  if (best != idle.end()) {  // even without a common prefix: its KV memory is reused
    std::unique_ptr<Session> s = std::move(*best);
    idle.erase(best);
    return s;
  }
  return engine_->NewSession();
}

void Service::EvictLocked() {
  // Idle cached sessions beyond the global cap: drop the least recently used (list tails).
  int64_t total = 0;
  for (auto& [name, a] : apps_) total += static_cast<int64_t>(a.idle.size());
  while (total > options_.max_idle_sessions) {
    AppState* victim = nullptr;
    for (auto& [name, a] : apps_) {
      if (!a.idle.empty() && (!victim || a.idle.size() > victim->idle.size())) victim = &a;
    }
    if (!victim) break;
    victim->idle.pop_back();
    --total;
  }
  // Resident context KV beyond its cap: drop the least recently used idle ones (recomputed from
  // the transcript on their next call).
  std::vector<Context*> resident;
  for (auto& [id, c] : contexts_) {
    if (c.session && !c.busy) resident.push_back(&c);
  }
  const size_t cap = static_cast<size_t>(std::max(0, options_.max_resident_contexts));
  if (resident.size() > cap) {
    std::sort(resident.begin(), resident.end(),
              [](Context* a, Context* b) { return a->last_used < b->last_used; });
    for (size_t i = 0; i < resident.size() - cap; ++i) resident[i]->session.reset();
  }
}

void Service::Release(Job* job) {
  std::lock_guard<std::mutex> lock(mu_);
  AppState& a = apps_[job->app_];
  --a.in_flight;
  if (!a.waiting.empty()) slot_cv_.notify_all();
  if (job->pooled_) {
    a.idle.push_front(std::move(job->pooled_));
  } else if (!job->context_id_.empty()) {
    auto it = contexts_.find(job->context_id_);
    if (it != contexts_.end()) {
      it->second.busy = false;
      it->second.last_used = ++clock_;
    }
  }
  EvictLocked();
}

StatusOr<std::unique_ptr<Job>> Service::Launch(const AppRecord& app, std::vector<int32_t> prompt,
                                               const GenerationParams& p, std::unique_ptr<Job> job,
                                               Session* session,
                                               std::function<StatusOr<Session*>()> acquire,
                                               std::function<void()> release) {
  // The caller has taken the in-flight slot and the session; job's destructor gives them back.
  const int64_t limit = ContextLimit(app);
  if (static_cast<int64_t>(prompt.size()) >= limit) {
    return OutOfRangeError("the prompt is " + std::to_string(prompt.size()) +
                           " tokens; this app's context holds " + std::to_string(limit) +
                           " (prompt plus reply)");
  }
  auto req = std::make_shared<GenRequest>();
  req->session = session;
  req->acquire = std::move(acquire);
  req->release = std::move(release);
  req->options = ToOptions(p);
  ASSIGN_OR_RETURN(req->options.speculative,
                   RequestSpeculative(p.speculative, options_.speculative, &speculative_tuning_));
  req->options.max_tokens = static_cast<int32_t>(
      std::min<int64_t>(p.max_tokens, limit - static_cast<int64_t>(prompt.size())));
  req->prompt = std::move(prompt);
  job->req_ = req;
  Status st = scheduler_->Submit(req);
  if (!st.ok()) {
    job->req_.reset();  // never queued: nothing to wait for
    if (IsQueueFull(st)) metrics_.CountRejected(RejectReason::kQueueFull);
    if (st.code() == StatusCode::kUnavailable) metrics_.CountRejected(RejectReason::kShuttingDown);
    return st;
  }
  return job;
}

Status Service::TakeSlotLocked(std::unique_lock<std::mutex>& lock, const AppRecord& app) {
  AppState& a = apps_[app.id];  // map nodes stay put while the lock is released
  const int32_t limit = app.limits.max_in_flight;
  if (shutting_down_) {
    metrics_.CountRejected(RejectReason::kShuttingDown);
    return UnavailableError("the service is shutting down");
  }
  if (limit <= 0 || (a.in_flight < limit && a.waiting.empty())) {
    ++a.in_flight;
    return Status::Ok();
  }
  if (a.waiting.size() >= static_cast<size_t>(std::max(0, app.limits.max_queued))) {
    metrics_.CountRejected(RejectReason::kAppQueueFull);
    return ResourceExhaustedError(std::string(kAppQueueFull) + ": app '" + app.name +
                                  "' already has " + std::to_string(a.in_flight) +
                                  " requests in flight and " + std::to_string(a.waiting.size()) +
                                  " waiting (its limits: max_in_flight " + std::to_string(limit) +
                                  ", max_queued " + std::to_string(app.limits.max_queued) +
                                  "); retry later");
  }
  const uint64_t ticket = ++next_ticket_;
  a.waiting.push_back(ticket);
  for (;;) {
    if (a.waiting.front() == ticket && a.in_flight < limit) {
      a.waiting.pop_front();
      ++a.in_flight;
      slot_cv_.notify_all();  // the next in line may find a slot too
      return Status::Ok();
    }
    const bool gone = caller_gone_ && caller_gone_();
    if (shutting_down_ || gone) {
      a.waiting.remove(ticket);
      slot_cv_.notify_all();
      if (!gone) metrics_.CountRejected(RejectReason::kShuttingDown);
      return UnavailableError(gone ? "the client went away while waiting for a slot"
                                   : "the service is shutting down");
    }
    slot_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

StatusOr<std::unique_ptr<Job>> Service::StartPooled(const AppRecord& app,
                                                    std::vector<int32_t> prompt,
                                                    const GenerationParams& p) {
  ASSIGN_OR_RETURN(std::vector<AdapterChoice> adapters, ResolveAdapters(p));
  std::unique_ptr<Job> job(new Job());
  {
    std::unique_lock<std::mutex> lock(mu_);
    RETURN_IF_ERROR(TakeSlotLocked(lock, app));
    job->service_ = this;
    job->app_ = app.id;
    job->pooled_ = TakeSession(app.id, prompt, adapters);
  }
  // From here the job owns the slot and the session. A set that differs from the session's
  // (or a version of an adapter replaced since) drops its KV (Engine::SetAdapters).
  Session* session = job->pooled_.get();
  RETURN_IF_ERROR(BindAdapters(*session, adapters));
  return Launch(app, std::move(prompt), p, std::move(job), session);
}

StatusOr<std::unique_ptr<Job>> Service::StartChat(const AppRecord& app,
                                                  const ChatCompletionRequest& r) {
  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, renderer_.Tokens(*engine_, r.messages));
  return StartPooled(app, std::move(prompt), r.params);
}

StatusOr<std::unique_ptr<Job>> Service::StartCompletion(const AppRecord& app,
                                                        const CompletionRequest& r) {
  std::vector<int32_t> prompt;
  const Tokenizer& tok = engine_->tokenizer();
  if (const auto* text = std::get_if<std::string>(&r.prompt)) {
    prompt = tok.Encode(*text, tok.add_bos(), /*parse_special=*/false);
  } else {
    prompt = std::get<std::vector<int32_t>>(r.prompt);
    for (int32_t t : prompt) {
      if (t >= tok.n_vocab()) {
        return InvalidArgumentError("prompt token id " + std::to_string(t) +
                                    " is outside the vocabulary (" + std::to_string(tok.n_vocab()) +
                                    " tokens)");
      }
    }
  }
  if (prompt.empty()) return InvalidArgumentError("the prompt is empty");
  return StartPooled(app, std::move(prompt), r.params);
}

StatusOr<std::unique_ptr<Job>> Service::StartContextTurn(const AppRecord& app,
                                                         const std::string& id,
                                                         const ContextMessageRequest& r) {
  ASSIGN_OR_RETURN(std::vector<AdapterChoice> adapters, ResolveAdapters(r.params));
  std::vector<ChatMessage> messages;
  std::unique_ptr<Job> job(new Job());
  Session* session = nullptr;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (shutting_down_) {
      metrics_.CountRejected(RejectReason::kShuttingDown);
      return UnavailableError("the service is shutting down");
    }
    auto it = contexts_.find(id);
    if (it == contexts_.end() || it->second.stored.app != app.id) {
      return NotFoundError("no context '" + id + "'");
    }
    if (it->second.busy) {
      return FailedPreconditionError("context '" + id +
                                     "' is answering another message; wait for it to finish");
    }
    // The context is this request's while it waits for a slot (a second message meanwhile gets
    // 409, and it cannot be deleted under us); given back if no slot comes.
    it->second.busy = true;
    if (Status st = TakeSlotLocked(lock, app); !st.ok()) {
      it->second.busy = false;  // contexts_ entries are erased only when not busy
      return st;
    }
    Context& c = it->second;
    if (!c.stored.system.empty()) messages.push_back({"system", c.stored.system});
    for (const auto& m : c.stored.messages) messages.push_back({m.role, m.content});
    messages.push_back({"user", r.content});
    if (!c.session && !memory_) c.session = engine_->NewSession();
    c.last_used = ++clock_;
    session = c.session.get();
    job->service_ = this;
    job->app_ = app.id;
    job->context_id_ = id;
    job->user_content_ = r.content;
  }
  // From here the job owns the in-flight slot and the busy flag (its destructor releases them).
  // A context keeps its KV while its calls use one adapter set; another set recomputes it.
  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, renderer_.Tokens(*engine_, messages));
  if (memory_) {
    ContextMemory* memory = memory_.get();
    auto acquire = [this, memory, id, adapters]() -> StatusOr<Session*> {
      ASSIGN_OR_RETURN(Session * s, memory->Acquire(id));
      if (Status st = BindAdapters(*s, adapters); !st.ok()) {
        if (Status released = memory->Release(id); !released.ok()) {
          LOG(WARNING) << "context " << id << ": releasing its KV: " << released.ToString();
        }
        return st;
      }
      return s;
    };
    auto release = [memory, id]() {
      if (Status st = memory->Release(id); !st.ok()) {
        LOG(WARNING) << "context " << id << ": releasing its KV: " << st.ToString();
      }
    };
    return Launch(app, std::move(prompt), r.params, std::move(job), nullptr, std::move(acquire),
                  std::move(release));
  }
  RETURN_IF_ERROR(BindAdapters(*session, adapters));
  return Launch(app, std::move(prompt), r.params, std::move(job), session);
}

StatusOr<std::string> Service::CreateContext(const AppRecord& app, const std::string& system,
                                             const std::string& document) {
  StoredContext c;
  c.app = app.id;
  c.system = system;
  if (!document.empty()) c.messages.push_back({"context", document});
  c.created_ms = c.updated_ms = NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    AppState& a = apps_[app.id];
    if (app.limits.max_contexts > 0 && a.contexts >= app.limits.max_contexts) {
      metrics_.CountRejected(RejectReason::kAppContexts);
      return ResourceExhaustedError("app '" + app.name + "' already holds " +
                                    std::to_string(a.contexts) +
                                    " contexts (its limit); delete some first");
    }
    ++a.contexts;  // reserved; given back if storing fails
  }
  for (int attempt = 0;; ++attempt) {
    c.id = NewContextId();
    Status st = store_->Create(c);
    if (st.ok()) break;
    if (st.code() != StatusCode::kFailedPrecondition || attempt >= 3) {
      std::lock_guard<std::mutex> lock(mu_);
      --apps_[app.id].contexts;
      return st;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Context& ctx = contexts_[c.id];
  ctx.stored = c;
  ctx.last_used = ++clock_;
  return c.id;
}

StatusOr<ContextInfo> Service::GetContext(const AppRecord& app, const std::string& id) {
  ContextInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = contexts_.find(id);
    if (it == contexts_.end() || it->second.stored.app != app.id) {
      return NotFoundError("no context '" + id + "'");
    }
    info.stored = it->second.stored;
    info.busy = it->second.busy;
    if (memory_ == nullptr && it->second.session && !it->second.busy) {
      info.cached_tokens = it->second.session->n_tokens();
    }
  }
  // Outside mu_: the context memory's lock may be held by a restore for a while.
  if (memory_ != nullptr) info.cached_tokens = memory_->CachedTokens(id);
  return info;
}

std::vector<ContextSummary> Service::ListContexts(const AppRecord& app) {
  std::vector<ContextSummary> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, c] : contexts_) {
      if (c.stored.app != app.id) continue;
      ContextSummary s;
      s.id = id;
      s.created_ms = c.stored.created_ms;
      s.updated_ms = c.stored.updated_ms;
      s.n_messages = static_cast<int64_t>(c.stored.messages.size());
      s.busy = c.busy;
      if (memory_ == nullptr && c.session && !c.busy) s.cached_tokens = c.session->n_tokens();
      out.push_back(std::move(s));
    }
  }
  // Outside mu_, as in GetContext.
  if (memory_ != nullptr) {
    for (ContextSummary& s : out) s.cached_tokens = memory_->CachedTokens(s.id);
  }
  std::stable_sort(out.begin(), out.end(), [](const ContextSummary& a, const ContextSummary& b) {
    return a.created_ms < b.created_ms;
  });
  return out;
}

Status Service::DeleteContext(const AppRecord& app, const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = contexts_.find(id);
    if (it == contexts_.end() || it->second.stored.app != app.id) {
      return NotFoundError("no context '" + id + "'");
    }
    if (it->second.busy) {
      return FailedPreconditionError("context '" + id +
                                     "' is answering a message; delete it after that finishes");
    }
  }
  RETURN_IF_ERROR(store_->Delete(id));
  if (memory_) {
    Status st = memory_->Delete(id);  // NotFound: the context never ran a turn
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = contexts_.find(id);
  if (it != contexts_.end() && !it->second.busy) {
    contexts_.erase(it);
    --apps_[app.id].contexts;
  }
  return Status::Ok();
}

void Service::Shutdown(bool drain, std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    slot_cv_.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(watcher_mu_);
    if (dir_watcher_) dir_watcher_->Stop();
  }
  if (scheduler_) scheduler_->Shutdown(drain, deadline);
}

std::string Service::RenderMetrics() {
  // Before mu_: the watcher's lock is held through a whole pass.
  if (const AdapterDirStats d = adapter_dir_stats(); d.passes > 0) {
    metrics_.SetAdapterDir(d.registered, d.loads, d.load_errors);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t bytes = 0;
    int64_t resident = 0;
    for (auto& [name, a] : apps_) {
      for (auto& s : a.idle) bytes += s->kv().allocated_bytes();
    }
    for (auto& [id, c] : contexts_) {
      if (c.session) {
        ++resident;
        if (!c.busy) bytes += c.session->kv().allocated_bytes();
      }
    }
    if (memory_) {
      const ContextMemoryStats st = memory_->stats();
      resident = static_cast<int64_t>(memory_->List().size());
      bytes += st.stored_bytes + st.working_bytes;
      metrics_.SetContextMemory(st.stored_bytes, st.working_bytes, memory_->options().budget_bytes,
                                st.evictions);
    }
    metrics_.SetContexts(static_cast<int64_t>(contexts_.size()), resident);
    metrics_.SetKvBytes(bytes);
  }
  return metrics_.Render();
}

}  // namespace odlm::server
