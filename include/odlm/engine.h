// odlm/engine.h — the public C++ API of the odlm runtime: load a GGUF model, keep sessions
// (conversations with their KV cache), evaluate tokens for one or many sessions in one batch.
//
//   auto engine = odlm::Engine::Open({.model_path = "model.gguf"});
//   auto session = (*engine)->NewSession();
//   odlm::GenerateOptions opts; opts.max_tokens = 64;
//   auto result = odlm::Generate(**engine, *session, "Once upon a time", opts,
//                                [](std::string_view piece) { fputs(...); return true; });
//
// Thread-safety: an Engine runs one evaluation at a time (Eval / EvalBatch are serialized
// internally); a Session belongs to one caller at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/gguf_reader.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tokenizer/tokenizer.h"

namespace odlm {

struct EngineOptions {
  std::string model_path;
  int n_threads = 0;               // 0: all hardware threads
  int64_t n_ctx = 0;               // 0: the model's trained context (capped at 4096)
  DType kv_type = DType::kF16;     // F16 or F32
  int32_t max_batch_tokens = 512;  // tokens per forward pass during prefill
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

  // Appends `tokens` to `session` and computes them. logits gets the last token's row
  // [n_vocab], or every token's rows [n_tokens, n_vocab] with all_logits.
  Status Eval(Session& session, std::span<const int32_t> tokens, bool all_logits,
              std::vector<float>* logits);

  // One forward pass over several sessions (continuous batching): each gets its tokens appended
  // and its last-token logits in logits[i] ([n_vocab]). Sessions must be distinct.
  struct BatchItem {
    Session* session;
    std::span<const int32_t> tokens;
  };
  Status EvalBatch(std::span<const BatchItem> items, std::vector<std::vector<float>>* logits);

 private:
  Engine() = default;
  EngineOptions options_;
  int64_t n_ctx_ = 0;
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<LlamaModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<float> scratch_logits_;
};

// A conversation's state: the tokens it has seen and their KV cache.
class Session {
 public:
  explicit Session(const KvCacheShape& shape) : kv_(shape) {}
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t n_tokens() const { return static_cast<int64_t>(tokens_.size()); }
  // Forgets everything past the first n tokens (their KV is overwritten by later evals).
  void Truncate(int64_t n);
  // Keeps the longest common prefix with `tokens` and returns how many tokens that is (always
  // leaves at least one token of `tokens` to evaluate, so logits can be produced).
  int64_t KeepCommonPrefix(std::span<const int32_t> tokens);
  KvCache& kv() { return kv_; }

 private:
  friend class Engine;
  KvCache kv_;
  std::vector<int32_t> tokens_;
};

}  // namespace odlm
