// odlm/engine.h — the public C++ API of the odlm runtime: load a GGUF model, keep sessions
// (conversations with their KV cache), evaluate tokens for one or many sessions in one batch.
//
//   auto engine = odlm::Engine::Open({.model_path = "model.gguf"});
//   auto session = (*engine)->NewSession();
//   const odlm::Tokenizer& tok = (*engine)->tokenizer();
//   std::vector<int32_t> prompt = tok.Encode("Once upon a time", tok.add_bos(), false);
//   odlm::GenerateOptions opts; opts.max_tokens = 64;
//   auto result = odlm::Generate(**engine, *session, prompt, opts,    // odlm/generate.h
//                                [](std::string_view piece) { fputs(...); return true; });
//
// Thread-safety: an Engine runs one evaluation at a time (Eval / EvalBatch are serialized
// internally); a Session belongs to one caller at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "adapters/lora_adapter.h"
#include "adapters/lora_apply.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/gguf_reader.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tokenizer/tokenizer.h"

namespace odlm {

// A LoRA adapter to register: a GGUF adapter file or a PEFT directory. Empty name: the file's
// stem ("summarize" for summarize.gguf, the directory's name for PEFT).
struct AdapterSpec {
  std::string name;
  std::string path;
  float scale = 1.0f;  // the scale new sessions use it at (EngineOptions::adapters)
};

// One adapter of a session's set: a registered name and the user's scale.
struct AdapterChoice {
  std::string name;
  float scale = 1.0f;
  bool operator==(const AdapterChoice&) const = default;
};

struct AdapterInfo {
  std::string name;
  std::string path;         // "" for adapters built in memory (merges)
  std::string description;  // rank, alpha, targets, parameters
  int64_t n_params = 0;
};

// The default registered name of an adapter at `path`: its file name without directory and
// extension, or the directory's name for a PEFT directory.
std::string AdapterNameFromPath(const std::string& path);

struct EngineOptions {
  std::string model_path;
  int n_threads = 0;               // 0: all hardware threads
  int64_t n_ctx = 0;               // 0: the model's trained context (capped at 4096)
  DType kv_type = DType::kF16;     // F16 or F32
  int32_t max_batch_tokens = 512;  // tokens per forward pass during prefill
  // true: the weights are the memory-mapped file (lazy, shared page cache). false: the file is
  // read once into huge-page-advised anonymous memory — slower to open, faster decode where
  // page walks are costly (see platform/mapped_file.h); the CLI's --no-mmap.
  bool mmap = true;
  // true: matrices whose type has a faster interleaved kernel on this CPU get an 8-row repacked
  // copy at Open (model/weight_interleave.h; costs that copy's memory, in anonymous huge-page
  // memory; the CLI's --no-repack turns it off).
  bool repack_weights = true;
  // Registered at Open; every new session starts with all of them at their scales.
  std::vector<AdapterSpec> adapters;
};

class Session;

class Engine {
 public:
  // Loads the model and tokenizer. Errors name the file and what is wrong with it; a context
  // longer than the model was trained for is allowed with a warning.
  static StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();

  const ModelConfig& config() const { return model_->config(); }
  const LlamaModel& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const GgufFile& file() const { return *file_; }
  const EngineOptions& options() const { return options_; }
  int64_t n_ctx() const { return n_ctx_; }
  ThreadPool* pool() { return pool_.get(); }
  // One line: architecture, size, block types, context (for load summaries).
  std::string Describe() const;

  std::unique_ptr<Session> NewSession();
  // The KV cache shape of this engine's sessions (sliding-window layers windowed).
  KvCacheShape SessionKvShape() const;

  // Appends `tokens` to `session` and computes them. logits gets the last token's row
  // [n_vocab], or every token's rows [n_tokens, n_vocab] with all_logits.
  // Errors: InvalidArgument for no tokens or a token id outside the vocabulary, OutOfRange when
  // the session would pass n_ctx() (nothing is evaluated then). The tokens are computed in pieces
  // of EngineOptions::max_batch_tokens: after an error in a later piece the session holds the
  // pieces before it (n_tokens() says how many); Truncate restores the old length if needed.
  Status Eval(Session& session, std::span<const int32_t> tokens, bool all_logits,
              std::vector<float>* logits);

  // Speculative verification (odlm/speculative.h): appends `tokens` to `session` and computes
  // them as Eval with all_logits ([n_tokens, n_vocab] rows, the same arithmetic), except that in
  // a session that tracks attention (context memory) what each token's query adds to the
  // statistics is held apart until Session::AcceptDraft says which tokens stay — so a rejected
  // draft leaves no trace. Errors as Eval; after an error the session holds what it held before.
  Status EvalDraft(Session& session, std::span<const int32_t> tokens, std::vector<float>* logits);

  // One forward pass over several sessions (continuous batching): each gets its tokens appended
  // and its last-token logits in logits[i] ([n_vocab]). Sessions must be distinct.
  struct BatchItem {
    Session* session;
    std::span<const int32_t> tokens;
  };
  Status EvalBatch(std::span<const BatchItem> items, std::vector<std::vector<float>>* logits);

  // --- LoRA adapters (thread-safe: the registry has its own lock) ---
  // Loads and registers an adapter under spec.name (or the file's stem). Errors: the file, an
  // adapter that does not match the model (InvalidArgument naming the tensor), a name in use.
  // Cost: reads and converts the adapter (milliseconds for MBs). Does not change any session.
  Status RegisterAdapter(const AdapterSpec& spec);
  // Registers an adapter built in memory (e.g. a merge); it must fit this model.
  Status RegisterAdapter(const std::string& name, std::shared_ptr<const LoraAdapter> adapter);
  // Removes `name` from the registry (NotFound if absent; FailedPrecondition for one of the
  // adapters the engine applies to every session, EngineOptions::adapters). Sessions that use
  // it keep their reference until their set changes, so an unregister never breaks a running
  // request.
  Status UnregisterAdapter(const std::string& name);
  std::vector<AdapterInfo> ListAdapters() const;                                  // sorted by name
  std::shared_ptr<const LoraAdapter> FindAdapter(const std::string& name) const;  // or null
  // Sets the adapters `session` computes with (empty: the base model). Every name must be
  // registered (NotFound naming it) and every scale finite. When the set differs from the
  // session's current one, the session's tokens and KV are dropped (Truncate(0)): KV computed
  // under other adapters is not valid under these. Sessions of one EvalBatch may differ.
  Status SetAdapters(Session& session, std::span<const AdapterChoice> adapters);
  // The set new sessions start with (EngineOptions::adapters).
  const std::vector<AdapterChoice>& default_adapters() const { return default_adapters_; }

  // Recomputes the KV of positions [begin, end) of `session` from its own tokens, at their
  // original positions, attending to the KV already in [0, begin) (which must be valid). The
  // session's tokens do not change. Used to restore evicted KV chunks (odlm/context_memory.h).
  Status RecomputeKv(Session& session, int64_t begin, int64_t end);

 private:
  Engine() = default;
  EngineOptions options_;
  int64_t n_ctx_ = 0;
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<LlamaModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ThreadPool> pool_;
  // Serializes Eval, EvalBatch and RecomputeKv: they share the model's scratch and the pool.
  std::recursive_mutex eval_mu_;
  std::vector<float> scratch_logits_;
  mutable std::mutex adapters_mu_;
  struct RegisteredAdapter {
    std::string path;
    std::shared_ptr<const LoraAdapter> adapter;
  };
  std::map<std::string, RegisteredAdapter> adapters_;  // guarded by adapters_mu_
  std::vector<AdapterChoice> default_adapters_;
};

// A conversation's state: the tokens it has seen and their KV cache.
class Session {
 public:
  explicit Session(const KvCacheShape& shape) : kv_(shape) {}
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t n_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  // Forgets everything past the first n tokens (their KV is overwritten by later evals) and
  // returns the tokens kept: n, or 0 when a sliding-window layer's KV that a token at position n
  // would read was already freed (everything is evaluated again then).
  int64_t Truncate(int64_t n);
  // After Engine::EvalDraft: keeps the first n tokens (n at least the length before the draft)
  // and, in a session tracking attention, adds the kept draft tokens' attention to the statistics
  // and drops the others': the session is as if only the kept tokens had been evaluated.
  void AcceptDraft(int64_t n);
  // Keeps the longest common prefix with `tokens` and returns how many tokens that is (always
  // leaves at least one token of `tokens` to evaluate, so logits can be produced).
  int64_t KeepCommonPrefix(std::span<const int32_t> tokens);
  KvCache& kv() { return kv_; }
  // The adapter set this session computes with (Engine::SetAdapters), and the same as the
  // borrowed pointers a SequenceStep takes (valid while the session keeps this set).
  const std::vector<AdapterChoice>& adapters() const { return adapter_choices_; }
  std::span<const ActiveLora> active_adapters() const { return active_; }
  // "" without adapters, else "name@scale+name@scale": part of any cache key of this
  // session's KV (a prefix computed under one set is not reusable under another).
  std::string AdapterKey() const;

 private:
  friend class Engine;
  friend class ContextMemory;
  KvCache kv_;
  std::vector<int32_t> tokens_;
  std::vector<AdapterChoice> adapter_choices_;
  std::vector<std::shared_ptr<const LoraAdapter>> adapter_refs_;  // keep them alive
  std::vector<ActiveLora> active_;
  // The last EvalDraft's per-token attention ([draft tokens, capacity]) and where it began.
  std::vector<float> draft_attention_;
  int64_t draft_begin_ = 0, draft_capacity_ = 0;
};

}  // namespace odlm
