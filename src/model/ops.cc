// model/ops.cc — norms, softmax, activation, RoPE.
#include "model/ops.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "kernels/vec_ops.h"

namespace odlm {

void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* out) {
  double ss = 0.0;  // double: exact enough for the 0.01-of-float64 reference tolerance at any n
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

void SoftmaxInPlace(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void SiluMulInPlace(float* gate, const float* up, int64_t n) { kernels::SiluMul(gate, up, n); }

void GeluTanhMulInPlace(float* gate, const float* up, int64_t n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * up[i];
  }
}

void SoftCapInPlace(float* x, int64_t n, float cap) {
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] * inv);
}

Rope::Rope(const ModelConfig& c)
    : style_(c.rope_style),
      head_dim_(c.head_dim),
      rope_dims_(c.rope_dims > 0 ? c.rope_dims : c.head_dim),
      position_scale_(1.0 / c.rope_linear_factor),
      magnitude_(c.rope_attn_factor),
      inv_freq_(rope_dims_ / 2) {
  CHECK(rope_dims_ <= head_dim_ && rope_dims_ % 2 == 0) << rope_dims_ << " of " << head_dim_;
  CHECK(c.rope_freq_factors.empty() || c.rope_freq_factors.size() == inv_freq_.size())
      << c.rope_freq_factors.size() << " frequency factors for " << rope_dims_ << " rotated dims";
  for (int32_t i = 0; i < rope_dims_ / 2; ++i) {
    double f = std::pow(static_cast<double>(c.rope_freq_base), -2.0 * i / rope_dims_);
    if (!c.rope_freq_factors.empty()) f /= c.rope_freq_factors[i];
    inv_freq_[i] = f;
  }
}

void Rope::Apply(float* x, int32_t n_heads, int64_t pos) const { Rotate(x, n_heads, pos, 1.0f); }

void Rope::ApplyInverse(float* x, int32_t n_heads, int64_t pos) const {
  Rotate(x, n_heads, pos, -1.0f);
}

void Rope::Rotate(float* x, int32_t n_heads, int64_t pos, float sign) const {
  const int32_t half = rope_dims_ / 2;
  const double p = static_cast<double>(pos) * position_scale_;
  for (int32_t i = 0; i < half; ++i) {
    const double theta = p * inv_freq_[i];
    const float c = magnitude_ * static_cast<float>(std::cos(theta)),
                s = sign * magnitude_ * static_cast<float>(std::sin(theta));
    for (int32_t h = 0; h < n_heads; ++h) {
      float* v = x + static_cast<int64_t>(h) * head_dim_;
      // normal: pairs (2i, 2i+1); neox: pairs (i, i + half)
      const int32_t a = style_ == RopeStyle::kNormal ? 2 * i : i;
      const int32_t b = style_ == RopeStyle::kNormal ? 2 * i + 1 : i + half;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

}  // namespace odlm
