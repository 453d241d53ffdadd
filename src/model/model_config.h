// model/model_config.h — the hyperparameters of a Llama-family model, read from GGUF metadata.
//
// Every supported architecture is a llama with some of a fixed set of features switched on, so
// the forward pass tests features, never architecture names:
//   llama   (also Llama 3.x with rope_freqs.weight, SmolLM2, Mistral-style files)
//   qwen2   Q/K/V biases, NeoX RoPE
//   qwen3   NeoX RoPE, per-head RMSNorm of Q and K before RoPE
//   phi3    fused attn_qkv and ffn_up (gate rows, then up rows), NeoX RoPE, a sliding window on
//           every layer
//   gemma2  embeddings × √n_embd, post-norms on both branches, GELU-tanh FFN, NeoX RoPE, scores
//           scaled by 1/√key_length, attention and final logit soft-capping, a sliding window on
//           even layers
//   gemma3  gemma2 without soft-capping, plus per-head Q/K norms; five sliding layers (RoPE base
//           1e4) then one global layer (rope.freq_base), repeating
// Norm weights are used as stored: gemma's converter already wrote (1 + w).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/gguf_reader.h"

namespace odlm {

enum class ModelArch { kLlama, kQwen2, kQwen3, kPhi3, kGemma2, kGemma3 };

// The architecture names ReadModelConfig accepts, in a stable order (for errors and docs).
const std::vector<std::string>& SupportedArchitectures();

enum class FfnActivation {
  kSilu,      // down(silu(gate) · up): llama, qwen, phi3
  kGeluTanh,  // down(gelu_tanh(gate) · up): gemma
};

enum class RopeStyle {
  kNormal,  // rotate adjacent pairs (x[2i], x[2i+1]): llama
  kNeox,    // rotate x[i] with x[i + head_dim/2]: qwen2 and other NeoX-style models
};

struct ModelConfig {
  ModelArch arch = ModelArch::kLlama;
  std::string arch_name;  // general.architecture: "llama", "qwen2", ...
  std::string name;       // general.name, if any
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  int32_t n_ff = 0;
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  float norm_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::kNormal;
  float rope_freq_base = 10000.0f;
  // Linear RoPE scaling (positions divided by the factor); 1 = none.
  float rope_linear_factor = 1.0f;
  // Dimensions of each head that RoPE rotates (`rope.dimension_count`): the first rope_dims of
  // head_dim, the rest pass through unrotated (Phi-4-mini: 96 of 128). Even, ≤ head_dim.
  int32_t rope_dims = 0;
  // Per-frequency divisors of the RoPE angles: [rope_dims / 2] or empty. Llama 3.1+ files carry
  // them as `rope_freqs.weight`; for LongRoPE files they are one of the two sets below, chosen by
  // LlamaModel::SetContextLength.
  std::vector<float> rope_freq_factors;
  // Phi-3 LongRoPE (the 128k-context Phi-3 / Phi-3.5 / Phi-4-mini files): `rope_factors_short`
  // for contexts up to rope_original_context tokens, `rope_factors_long` past it, as llama.cpp
  // chooses (by the context length, not the current position). Both [rope_dims / 2] or empty.
  std::vector<float> rope_factors_long, rope_factors_short;
  int64_t rope_original_context = 0;  // rope.scaling.original_context_length
  // cos and sin of every RoPE angle are multiplied by this (rope.scaling.attn_factor; LongRoPE's
  // √(1 + ln(scale) / ln(original context))), so q·k scales by its square.
  float rope_attn_factor = 1.0f;

  // Features beyond llama's (defaults: off), set from the architecture and its metadata.
  float embedding_scale = 1.0f;      // input embeddings × this (gemma: √n_embd)
  float attention_scale = 0.0f;      // scores = q·k × this (1/√head_dim unless the arch says)
  float attn_logit_softcap = 0.0f;   // scores ← cap·tanh(scores / cap) before the mask; 0: none
  float final_logit_softcap = 0.0f;  // logits ← cap·tanh(logits / cap); 0: none
  FfnActivation ffn_activation = FfnActivation::kSilu;
  bool qkv_bias = false;       // attn_{q,k,v}.bias required (qwen2)
  bool qk_norm = false;        // per-head RMSNorm of Q and K (attn_{q,k}_norm) before RoPE
  bool post_norms = false;     // post_attention_norm / post_ffw_norm on each branch output
  bool fused_qkv = false;      // attn_qkv.weight: rows Q, K, V (bound as three views)
  bool fused_gate_up = false;  // ffn_up.weight: rows gate then up (bound as two views)
  // Sliding-window attention: on a layer with layer_sliding[l], key j is visible from query i
  // when 0 <= i - j < sliding_window. Empty / all false: every layer attends to the whole context.
  int32_t sliding_window = 0;
  std::vector<bool> layer_sliding;  // [n_layer] when sliding_window > 0
  // RoPE base of the sliding layers when it differs from rope_freq_base (gemma3: 1e4, no linear
  // scaling, no frequency factors); 0: the sliding layers use the global RoPE.
  float rope_local_freq_base = 0.0f;

  bool IsSliding(int32_t layer) const {
    return sliding_window > 0 && layer_sliding[static_cast<size_t>(layer)];
  }

  int32_t q_dim() const { return n_head * head_dim; }
  int32_t kv_dim() const { return n_head_kv * head_dim; }
  std::string Summary() const;  // one line for load logs
};

// Reads and validates the hyperparameters. Unsupported architectures, missing keys and
// inconsistent shapes are InvalidArgument / Unimplemented errors naming the key.
StatusOr<ModelConfig> ReadModelConfig(const GgufFile& file);

}  // namespace odlm
