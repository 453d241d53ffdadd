// model/llama_model.h — the forward pass of Llama-family models (llama, qwen2).
//
// One Forward call runs a batch of tokens from one or more independent sequences through every
// layer together: weight products see all tokens at once (batched prefill and multi-sequence
// decode share the same code), attention is per sequence over its own KV view.
//
// Thread-safety: a LlamaModel is immutable after Load except for its scratch buffers, so one
// Forward at a time per model object. The GgufFile passed to Load must outlive the model.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "adapters/lora_apply.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/gguf_reader.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/ops.h"
#include "tensor/kv_view.h"

namespace odlm {

// One sequence's part of a batch.
struct SequenceStep {
  const int32_t* tokens = nullptr;  // [n_tokens] token ids
  int32_t n_tokens = 0;
  KvCacheView* kv = nullptr;  // tokens go to positions kv->n_past ... kv->n_past + n_tokens - 1
  bool all_logits = false;    // logits for every token (perplexity) or only the last
  // LoRA adapters applied to this sequence's tokens (borrowed for the call; empty: none).
  std::span<const ActiveLora> adapters;
};

class LlamaModel {
 public:
  static StatusOr<std::unique_ptr<LlamaModel>> Load(const GgufFile& file);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  // The base model as LoRA adapters must match it (adapters/ sees plain numbers only).
  LoraBaseShape LoraBase() const;

  // Runs the batch. Writes each token's K/V into its sequence's view (the caller advances
  // n_past afterwards) and appends to `logits` (resized) the rows [n_rows, n_vocab]: per sequence
  // in order, all of its tokens' rows if all_logits, else the last token's row. Errors: a token id
  // out of range, a view without room, a view of the wrong shape.
  Status Forward(std::span<const SequenceStep> batch, ThreadPool* pool, std::vector<float>* logits);

 private:
  LlamaModel(ModelConfig config, ModelWeights weights);
  Status Validate(std::span<const SequenceStep> batch) const;
  void Attention(std::span<const SequenceStep> batch, int32_t layer, ThreadPool* pool);

  ModelConfig config_;
  ModelWeights weights_;
  Rope rope_;

  // Scratch, resized per call. T = total tokens in the batch.
  std::vector<float> x_;      // [T, n_embd] residual stream
  std::vector<float> xb_;     // [T, n_embd] normed input
  std::vector<float> q_;      // [T, q_dim]
  std::vector<float> k_;      // [T, kv_dim]
  std::vector<float> v_;      // [T, kv_dim]
  std::vector<float> attn_;   // [T, q_dim] attention output
  std::vector<float> proj_;   // [T, n_embd]
  std::vector<float> gate_;   // [T, n_ff]
  std::vector<float> up_;     // [T, n_ff]
  std::vector<float> out_x_;  // [rows, n_embd] final-normed rows that need logits
  LoraBatch lora_;            // per-call adapter groups of the batch's tokens
  std::vector<std::vector<float>> thread_scores_;  // per thread: [GQA group, context + 1]
};

}  // namespace odlm
