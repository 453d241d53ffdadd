// model/llama_model.h — the forward pass of Llama-family models (every architecture of
// model_config.h: llama, qwen2, qwen3, phi3, gemma2, gemma3; their differences are config
// features).
//
// One Forward call runs a batch of tokens from one or more independent sequences through every
// layer together: weight products see all tokens at once (batched prefill and multi-sequence
// decode share the same code), attention is per sequence over its own KV view.
//
// Training (train/) drives this same forward pass a stage at a time — BeginForward, ForwardLayer
// per layer (optionally recording what the backward pass needs into LayerActivations), then the
// final norm and output layer of its own — instead of owning a second forward pass. With
// set_float_matmul(true) every weight product runs kernels::MatMulFloat (f32 activations, weights
// dequantized exactly) instead of MatMul's quantized-activation kernels, so a loss matches a float
// reference on any base block type.
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
#include "platform/huge_page_memory.h"
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

// What one layer's forward computed, for its backward pass (T = tokens of the batch, rows in batch
// order). Filled by ForwardLayer when given; buffers are resized as needed and reused across calls.
struct LayerActivations {
  std::vector<float> x_in;     // [T, n_embd] residual stream entering the layer
  std::vector<float> xb_attn;  // [T, n_embd] attention-normed input (input of Q/K/V)
  std::vector<float> q;        // [T, q_dim] queries after bias and RoPE
  std::vector<float> k;        // [T, kv_dim] keys after bias and RoPE
  std::vector<float> v;        // [T, kv_dim] values after bias
  std::vector<float> attn;     // [T, q_dim] attention output (input of attn_output)
  std::vector<float> x_mid;    // [T, n_embd] residual stream after the attention branch
  std::vector<float> xb_ffn;   // [T, n_embd] FFN-normed input (input of gate/up)
  std::vector<float> gate;     // [T, n_ff] gate projection before the activation
  std::vector<float> up;       // [T, n_ff] up projection
  std::vector<float> act;      // [T, n_ff] silu(gate)·up (input of ffn_down)
};

// How Load prepares the weights.
struct ModelLoadOptions {
  // Give the matrices an 8-row interleaved copy where this CPU's kernels read that layout faster
  // (model/weight_interleave.h): faster decode and prefill for the cost of the copy's memory.
  bool interleave = true;
  ThreadPool* pool = nullptr;  // splits the repacking (may be nullptr)
};

class LlamaModel {
 public:
  static StatusOr<std::unique_ptr<LlamaModel>> Load(const GgufFile& file,
                                                    const ModelLoadOptions& options = {});
  // A model over weights the caller binds (train/: trainable f32 copies). The memory the weight
  // views point at must outlive the model; `config` must match the weights (CHECKed shapes).
  static std::unique_ptr<LlamaModel> FromWeights(ModelConfig config, ModelWeights weights);

  const ModelConfig& config() const { return config_; }
  // Tells the model the context length it will run at. Only LongRoPE files care: past
  // rope_original_context tokens they rotate with the long factors, up to it with the short ones
  // (the default after Load). Call before the first Forward; KV written before a switch would be
  // rotated the other way.
  void SetContextLength(int64_t n_ctx);
  const ModelWeights& weights() const { return weights_; }
  // Bytes of the interleaved weight copies Load made (0: none on this CPU, or not asked for).
  int64_t interleaved_bytes() const {
    return interleaved_ ? static_cast<int64_t>(interleaved_->size()) : 0;
  }
  // The base model as LoRA adapters must match it (adapters/ sees plain numbers only).
  LoraBaseShape LoraBase() const;

  // Runs the batch. Writes each token's K/V into its sequence's view (the caller advances
  // n_past afterwards) and appends to `logits` (resized) the rows [n_rows, n_vocab]: per sequence
  // in order, all of its tokens' rows if all_logits, else the last token's row. Errors: a token id
  // out of range, a view without room, a view of the wrong shape.
  Status Forward(std::span<const SequenceStep> batch, ThreadPool* pool, std::vector<float>* logits);

  // --- Training interface (train/) ---
  // Weights the trainer updates in place between steps (views stay where FromWeights put them).
  ModelWeights* mutable_weights() { return &weights_; }
  // Every weight product in f32 (kernels::MatMulFloat) instead of quantized activations.
  void set_float_matmul(bool on) { float_matmul_ = on; }
  // Validates the batch, sizes the scratch for it and fills the residual stream with the
  // embeddings. all_logits is ignored. Errors as Forward.
  Status BeginForward(std::span<const SequenceStep> batch);
  // Runs layer `layer` on the residual stream (the batch of the last BeginForward; K/V rows go to
  // the views as in Forward). When `record` is given, copies what backward needs into it.
  void ForwardLayer(std::span<const SequenceStep> batch, int32_t layer, ThreadPool* pool,
                    LayerActivations* record);
  // The residual stream of the current batch: [T, n_embd]. Writable, so a trainer can restore a
  // layer's saved input and run that layer again (activation checkpointing).
  float* residual() { return x_.data(); }
  // Y = X·Wᵀ for a weight of this model, through the product the forward pass uses.
  void Product(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
               ThreadPool* pool) const;
  const Rope& rope() const { return rope_; }

 private:
  LlamaModel(ModelConfig config, ModelWeights weights);
  Status Validate(std::span<const SequenceStep> batch) const;
  void Attention(std::span<const SequenceStep> batch, int32_t layer, ThreadPool* pool);
  void ProductMany(std::span<const kernels::MatMulOutput> outs, const float* x, int64_t n_tokens,
                   ThreadPool* pool) const;

  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<HugePageMemory> interleaved_;  // what weights_' interleaved views point into
  Rope rope_;                                    // every layer's RoPE ...
  Rope rope_local_;  // ... except the sliding layers' when the config gives them their own base
  bool float_matmul_ = false;
  int64_t n_tokens_ = 0;  // T of the current batch

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
