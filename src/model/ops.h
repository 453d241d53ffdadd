// model/ops.h — the small per-token operations of a Llama-family layer (scalar, auto-vectorized).
//
// Weight matrix products go through kernels::MatMul; these are the O(n) steps around them.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_config.h"

namespace odlm {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]. out may alias x.
void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* out);

// x[i] = exp(x[i] - max) / sum, in place.
void SoftmaxInPlace(float* x, int64_t n);

// gate[i] = silu(gate[i]) * up[i], in place in gate.
void SiluMulInPlace(float* gate, const float* up, int64_t n);

// gate[i] = gelu_tanh(gate[i]) * up[i], in place in gate, where
// gelu_tanh(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (gemma's activation).
void GeluTanhMulInPlace(float* gate, const float* up, int64_t n);

// x[i] = cap · tanh(x[i] / cap), in place (gemma2's attention and final logit soft-capping).
void SoftCapInPlace(float* x, int64_t n, float cap);

// Rotary position embedding for one token's heads: x is [n_heads, head_dim].
// Angles are precomputed per pair from the config (base, linear scaling, frequency factors). Only
// the first rope_dims of each head rotate (pairs (2i, 2i+1), or (i, i + rope_dims/2) for NeoX, with
// angle pos·base^(-2i/rope_dims)/factor_i); the rest pass through. cos and sin are scaled by
// rope_attn_factor, as llama.cpp's rope does.
class Rope {
 public:
  explicit Rope(const ModelConfig& config);
  void Apply(float* x, int32_t n_heads, int64_t pos) const;
  // The inverse rotation (by -angle): the transpose of Apply, which backward passes need.
  void ApplyInverse(float* x, int32_t n_heads, int64_t pos) const;

 private:
  void Rotate(float* x, int32_t n_heads, int64_t pos, float sign) const;
  RopeStyle style_;
  int32_t head_dim_;
  int32_t rope_dims_;             // rotated dims per head, ≤ head_dim_
  double position_scale_;         // 1 / linear factor
  float magnitude_;               // rope_attn_factor
  std::vector<double> inv_freq_;  // [rope_dims / 2]
};

}  // namespace odlm
