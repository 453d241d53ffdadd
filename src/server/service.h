// server/service.h — the state of `odlm serve` behind the HTTP layer: apps and their limits,
// persistent contexts (transcript in the ContextStore, KV in a Session), per-app session caches
// for prefix reuse, and the Scheduler that runs generations on the one engine.
//
// Isolation: everything an app can reach is keyed by its identity (AppRecord::id, not its name, so
// an app removed and added again under the same name starts with nothing): contexts (another
// app's id is answered exactly like an unknown id), cached sessions (prefix reuse never crosses
// apps), limits.
//
// Thread-safety: all methods may be called from any thread (HTTP handler threads). One mutex
// guards the maps; sessions are touched only by the scheduler while a request holds them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "odlm/compose.h"
#include "odlm/context_memory.h"
#include "odlm/engine.h"
#include "odlm/speculative.h"
#include "server/adapter_dir_watcher.h"
#include "server/context_store.h"
#include "server/key_store.h"
#include "server/metrics.h"
#include "server/prompt.h"
#include "server/requests.h"
#include "server/scheduler.h"

namespace odlm::server {

struct ServiceOptions {
  SchedulerOptions scheduler;
  RequestLimits limits;
  std::string state_dir;               // "" → contexts live in memory only
  std::string model_id;                // the name GET /v1/models reports
  std::string chat_template;           // "" → recognized from the model (server/prompt.h)
  AppLimits local_limits;              // limits of the single app when there is no keys file
  int32_t max_idle_sessions = 8;       // cached sessions for prefix reuse, all apps together
  int32_t max_resident_contexts = 32;  // contexts whose KV stays in memory between calls
  // POST / DELETE /v1/adapters are answered only with this set (`--allow-adapter-admin`): they
  // make the server read files by path, which no app key should be able to ask for by default.
  bool allow_adapter_admin = false;
  // Set: persistent contexts keep their KV in a ContextMemory (odlm/context_memory.h) under its
  // budget and policy; each call acquires the context's session on the scheduler thread and
  // releases it as soon as the generation ends. Unset: each context keeps an fp16 Session, at
  // most max_resident_contexts of them (the others re-prefill from the transcript).
  std::optional<ContextMemoryOptions> context_memory;
  // Speculative decoding (odlm/speculative.h) for requests that do not say ("speculative" field):
  // on when it has a drafter. draft_engine, if set, is borrowed (it must outlive the service) and
  // is the only draft model a request can ask for; tuning is ignored (the service keeps its own,
  // learned across requests on the scheduler thread).
  SpeculativeOptions speculative;
};

// A registered adapter as GET /v1/adapters reports it.
struct ServedAdapter {
  AdapterInfo info;
  float default_scale = 1.0f;  // what a request naming it without "scale" gets
};

class Service;

// True for the status a Start* call returns when the app's in-flight slots and its queue are
// taken (answered 429 "app_queue_full").
bool IsAppQueueFull(const Status& status);

// One generation in flight: holds the app's in-flight slot and the session until destroyed.
class Job {
 public:
  ~Job();
  GenRequest& request() { return *req_; }
  std::shared_ptr<GenRequest> shared_request() { return req_; }
  // For a context turn that finished normally: appends the user message and the reply to the
  // transcript and stores them durably. Call before answering the client.
  Status Commit();
  // Gives the session and the in-flight slot back once the request has finished (idempotent;
  // the destructor does it otherwise). Call before the final bytes reach the client, so that its
  // next call finds the context free.
  void Release();
  bool is_context_turn() const { return !context_id_.empty(); }
  const std::string& context_id() const { return context_id_; }

 private:
  friend class Service;
  Job() = default;
  Service* service_ = nullptr;
  std::string app_;
  std::shared_ptr<GenRequest> req_;
  std::unique_ptr<Session> pooled_;  // a session from the app's cache (stateless requests)
  std::string context_id_;           // or the context whose session it uses
  std::string user_content_;
  bool committed_ = false;
  bool released_ = false;
};

// One of an app's contexts as GET /v1/contexts lists it (no transcript).
struct ContextSummary {
  std::string id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t n_messages = 0;     // user and assistant messages stored
  int64_t cached_tokens = 0;  // tokens whose KV is in memory now
  bool busy = false;          // answering a message now
};

struct ContextInfo {
  StoredContext stored;
  int64_t cached_tokens = 0;  // tokens whose KV is in memory now
  bool busy = false;
};

class Service {
 public:
  // `keys` null: no authentication, one app named "local". Restores stored contexts.
  static StatusOr<std::unique_ptr<Service>> Create(Engine* engine, const ServiceOptions& options,
                                                   std::unique_ptr<KeyStore> keys);
  ~Service();

  bool auth_required() const { return keys_ != nullptr; }
  // Polled (on the request's thread, every 50 ms) while a request waits for one of its app's
  // in-flight slots: true gives up the wait. The HTTP layer sets CurrentClientGone. Set before
  // serving; not thread-safe against requests.
  void set_caller_gone(std::function<bool()> gone) { caller_gone_ = std::move(gone); }
  // The app a bearer key belongs to; without a keys file, always the local app. nullptr: refuse.
  const AppRecord* Authenticate(std::string_view bearer_key) const;

  // Validates, tokenizes and queues a generation. A request beyond the app's max_in_flight waits
  // for a slot (first come, first served within the app; see TakeSlotLocked). Errors: 400 (too
  // long for the context), 429 (the scheduler's queue full: queue_full; the app's slots and its
  // queue of max_queued taken: app_queue_full), 404 / 409 for contexts, 503 (shutting down, or
  // the client left while waiting).
  StatusOr<std::unique_ptr<Job>> StartChat(const AppRecord& app, const ChatCompletionRequest& r);
  StatusOr<std::unique_ptr<Job>> StartCompletion(const AppRecord& app, const CompletionRequest& r);
  StatusOr<std::unique_ptr<Job>> StartContextTurn(const AppRecord& app, const std::string& id,
                                                  const ContextMessageRequest& r);

  // Contexts. NotFound for unknown ids and for ids of other apps alike.
  // A non-empty `document` is stored as the context's first message, role "context", which every
  // later message of the context is answered with (the chat template renders it as grounding).
  StatusOr<std::string> CreateContext(const AppRecord& app, const std::string& system,
                                      const std::string& document = "");
  StatusOr<ContextInfo> GetContext(const AppRecord& app, const std::string& id);
  // The app's contexts, oldest first. O(all contexts) under the service's lock.
  std::vector<ContextSummary> ListContexts(const AppRecord& app);
  Status DeleteContext(const AppRecord& app, const std::string& id);

  // LoRA adapters (the engine's registry plus each adapter's default scale and path). Register
  // errors: a name in use (FailedPrecondition), a file that cannot be read or does not fit the
  // model (InvalidArgument). Unregister: NotFound. Requests already running keep their adapters.
  // Files are read before the registry's lock is taken: requests are not held up by a load.
  Status RegisterAdapter(const AdapterSpec& spec);
  // Loads spec.path and registers it under spec.name whether or not that name is registered: a
  // registered version is swapped for the new one in one step, so no request ever finds the name
  // missing. Requests already running keep the version they started with; later ones (and
  // cached KV, which is dropped) get the new one. Errors as RegisterAdapter except a name in use;
  // on error the registered version stays. *created: the name was not registered before.
  // *registered: the version now registered under the name (for UnregisterAdapterIf).
  Status ReplaceAdapter(const AdapterSpec& spec, bool* created = nullptr,
                        std::shared_ptr<const LoraAdapter>* registered = nullptr);
  Status UnregisterAdapter(const std::string& name);
  // Unregisters `name` only while the version registered under it is `expected` (true then);
  // false when it is absent or another version.
  bool UnregisterAdapterIf(const std::string& name, const std::shared_ptr<const void>& expected);
  std::vector<ServedAdapter> ListAdapters() const;
  // Follows `options.dir` (server/adapter_dir_watcher.h): registers every adapter in it now, then
  // registers, replaces and unregisters as files come, change and go (checked every
  // options.poll_interval on a background thread, stopped by Shutdown). The names registered when
  // this is called (the --lora ones) are added to options.reserved_names: they win over files of
  // the same name. Errors: not a directory (InvalidArgument), already watching
  // (FailedPrecondition).
  Status WatchAdapterDir(AdapterDirOptions options);
  // The watcher's counters (all zero without WatchAdapterDir).
  AdapterDirStats adapter_dir_stats() const;
  // The adapter set a request asks for (absent: the base model). InvalidArgument naming an
  // unknown adapter.
  StatusOr<std::vector<AdapterChoice>> ResolveAdapters(const GenerationParams& p) const;

  // Composite tasks (a request's "compose"; odlm/compose.h). Two-pass: one generation per stage,
  // each queued on the scheduler after the previous one ended; merged: the stages' adapters merged
  // once (cached per stage sets and merge settings, registered as "compose:<key>") and one
  // generation. Start* runs every pass but the last to completion (blocking the calling thread)
  // and queues the last, which the caller streams or waits for with FinishCompose. Stage prompts:
  // completions — the template applied to the prompt text (token-id prompts are refused); chat —
  // stage 1 is the conversation as sent (its template, if any, rewrites the last user message),
  // each later stage a conversation of the system messages and one user message, the stage's
  // template with {input} = the last user message and {output} = the previous answer. Errors: as
  // Start* (400 naming unknown adapters or a bad template, 429), 409 when an intermediate pass
  // said nothing, 503 when cancelled by a shutdown.
  struct ComposeRun {
    std::shared_ptr<Job> last;  // the last pass, queued
    ComposeResult done;         // mode, merge_ms and the passes already finished
    std::vector<AdapterChoice> last_adapters;
    std::string last_prompt;
    int64_t start_ns = 0;
    std::shared_ptr<const void> merge_pin;  // keeps a merged adapter registered until done
  };
  StatusOr<ComposeRun> StartComposeCompletion(const AppRecord& app, const CompletionRequest& r);
  StatusOr<ComposeRun> StartComposeChat(const AppRecord& app, const ChatCompletionRequest& r);
  // Waits for the last pass and returns the whole result (`run.last` finished: no wait).
  static StatusOr<ComposeResult> FinishCompose(ComposeRun run);
  // The result as it stands once `run.last` has finished successfully (for streams).
  static ComposeResult ComposeResultOf(const ComposeRun& run);
  const MergedAdapterCache& compose_cache() const { return compose_cache_; }

  // Stops accepting generations, finishes (drain) or cancels what is in flight.
  void Shutdown(bool drain, std::chrono::steady_clock::time_point deadline);

  Metrics& metrics() { return metrics_; }
  // Refreshes the gauges (contexts, KV bytes) and renders the Prometheus text.
  std::string RenderMetrics();
  Engine& engine() { return *engine_; }
  Scheduler& scheduler() { return *scheduler_; }
  const ServiceOptions& options() const { return options_; }
  int64_t created_unix() const { return created_unix_; }

 private:
  friend class Job;
  struct Context {
    StoredContext stored;
    std::unique_ptr<Session> session;  // null until first use (or after eviction)
    bool busy = false;
    uint64_t last_used = 0;
  };
  struct AppState {
    int32_t in_flight = 0;
    int32_t contexts = 0;
    std::list<std::unique_ptr<Session>> idle;  // most recently used first
    std::list<uint64_t> waiting;               // tickets of requests waiting for a slot, FIFO
  };

  Service(Engine* engine, const ServiceOptions& options);
  // Common admission: in-flight slot, context-length check, options, submit.
  // `session` null: `acquire` / `release` lease it on the scheduler thread (GenRequest).
  StatusOr<std::unique_ptr<Job>> Launch(const AppRecord& app, std::vector<int32_t> prompt,
                                        const GenerationParams& p, std::unique_ptr<Job> job,
                                        Session* session,
                                        std::function<StatusOr<Session*>()> acquire = nullptr,
                                        std::function<void()> release = nullptr);
  int64_t ContextLimit(const AppRecord& app) const;
  // A cached session of `app` computed under `adapters` sharing the longest prefix with the
  // prompt (prefix reuse is keyed by app and adapter set), else any idle one, else a new one.
  std::unique_ptr<Session> TakeSession(const std::string& app, const std::vector<int32_t>& prompt,
                                       const std::vector<AdapterChoice>& adapters);
  // Starts a stateless request (chat / completion) on a pooled session.
  StatusOr<std::unique_ptr<Job>> StartPooled(const AppRecord& app, std::vector<int32_t> prompt,
                                             const GenerationParams& p);
  void Release(Job* job);
  // Takes one of the app's in-flight slots for the calling request. While the app has
  // max_in_flight requests in flight, waits in the app's FIFO (releasing `lock` meanwhile) behind
  // at most max_queued others: ResourceExhausted (app_queue_full) when they are that many,
  // Unavailable when the service shuts down or the caller goes away (caller_gone_) first.
  // Called and returns with `lock` holding mu_.
  Status TakeSlotLocked(std::unique_lock<std::mutex>& lock, const AppRecord& app);
  void EvictLocked();
  // A request's "compose" with names resolved against the registry (default scales filled in)
  // and validated (ValidateComposeSpec): InvalidArgument otherwise.
  StatusOr<ComposeSpec> ResolveCompose(const ComposeParam& c) const;
  // The prompt of pass `index` given the previous pass's output: its text (for the result) and
  // tokens.
  struct PassPrompt {
    std::string text;
    std::vector<int32_t> tokens;
  };
  using PassPromptFn = std::function<StatusOr<PassPrompt>(size_t index, const std::string& prev)>;
  StatusOr<ComposeRun> StartCompose(const AppRecord& app, const ComposeSpec& spec,
                                    const GenerationParams& p, const PassPromptFn& prompt_of);
  // Reads and validates an adapter file for `spec` (named), without registering it. Errors as
  // RegisterAdapter's for a file.
  StatusOr<std::shared_ptr<const LoraAdapter>> LoadAdapter(const AdapterSpec& spec) const;
  // Engine::SetAdapters under adapters_mu_, so that a swap in ReplaceAdapter (unregister, then
  // register, in the engine) is never seen half done. InvalidArgument for an unknown name.
  Status BindAdapters(Session& session, const std::vector<AdapterChoice>& adapters);

  Engine* engine_;
  ServiceOptions options_;
  std::unique_ptr<KeyStore> keys_;
  AppRecord local_app_;
  PromptRenderer renderer_;
  std::unique_ptr<ContextStore> store_;
  Metrics metrics_;
  std::unique_ptr<ContextMemory> memory_;  // with options_.context_memory; before scheduler_
  std::unique_ptr<Scheduler> scheduler_;
  // What speculative decoding learned (used on the scheduler thread only, by one request at a
  // time).
  SpeculativeTuning speculative_tuning_;
  int64_t created_unix_ = 0;

  std::mutex mu_;
  std::condition_variable slot_cv_;  // an in-flight slot was given back (or shutting down)
  uint64_t next_ticket_ = 0;
  std::function<bool()> caller_gone_;
  std::map<std::string, AppState> apps_;
  std::map<std::string, Context> contexts_;
  uint64_t clock_ = 0;
  bool shutting_down_ = false;
  mutable std::mutex adapters_mu_;
  std::map<std::string, float> adapter_scales_;       // guarded by adapters_mu_
  std::map<std::string, std::string> adapter_paths_;  // guarded by adapters_mu_
  MergedAdapterCache compose_cache_;                  // thread-safe
  // Last, so that it stops (destroyed first) before anything it registers into goes away.
  mutable std::mutex watcher_mu_;
  std::unique_ptr<AdapterDirWatcher> dir_watcher_;  // guarded by watcher_mu_
};

}  // namespace odlm::server
