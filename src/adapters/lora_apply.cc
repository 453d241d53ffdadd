// adapters/lora_apply.cc — per-adapter token groups and the low-rank products.
#include "adapters/lora_apply.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "base/hash.h"
#include "kernels/matmul.h"

namespace odlm {

void LoraDropout(float p, uint64_t seed, int32_t layer, LoraTarget target, int64_t row,
                 const float* x, int64_t n, float* out) {
  CHECK(p >= 0.0f && p < 1.0f);
  const uint64_t base =
      SplitMix64(seed ^ (static_cast<uint64_t>(layer) << 40) ^
                 (static_cast<uint64_t>(target) << 32) ^ static_cast<uint64_t>(row));
  // Kept when the top 32 bits of the element's hash are >= p·2³².
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(p) * 4294967296.0);
  const float keep_scale = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; ++i) {
    const bool kept = (SplitMix64(base + static_cast<uint64_t>(i)) >> 32) >= threshold;
    out[i] = kept ? x[i] * keep_scale : 0.0f;
  }
}

void LoraBatch::Reset() {
  groups_.clear();
  n_tokens_ = 0;
}

void LoraBatch::AddSequence(std::span<const ActiveLora> adapters, int64_t n_tokens) {
  for (const ActiveLora& a : adapters) {
    CHECK(a.adapter != nullptr);
    if (a.scale == 0.0f) continue;  // exactly the base model for these tokens
    auto it = std::find_if(groups_.begin(), groups_.end(),
                           [&](const Group& g) { return g.adapter == a.adapter; });
    if (it == groups_.end()) {
      groups_.push_back({a.adapter, {}, {}, a.dropout, a.dropout_seed});
      it = groups_.end() - 1;
    }
    for (int64_t i = 0; i < n_tokens; ++i) {
      // An adapter listed twice in one set adds its scales up.
      if (!it->tokens.empty() && it->tokens.back() == n_tokens_ + i) {
        it->scales.back() += a.scale;
        continue;
      }
      it->tokens.push_back(n_tokens_ + i);
      it->scales.push_back(a.scale);
    }
  }
  n_tokens_ += n_tokens;
}

void LoraBatch::Apply(int32_t layer, LoraTarget target, const float* x, int64_t n_in, float* y,
                      int64_t n_out, ThreadPool* pool) {
  for (const Group& g : groups_) {
    const LoraPair* p = g.adapter->Find(layer, target);
    if (p == nullptr) continue;
    CHECK_EQ(p->n_in, n_in);
    CHECK_EQ(p->n_out, n_out);
    const int64_t n = static_cast<int64_t>(g.tokens.size());
    const int64_t r = p->rank;
    const int64_t first = g.tokens.front();
    const bool contiguous = g.tokens.back() - first + 1 == n;
    const float* xs = x + first * n_in;
    if (!contiguous || g.dropout > 0.0f) {
      xg_.resize(static_cast<size_t>(n * n_in));  // [n, n_in]
      for (int64_t i = 0; i < n; ++i) {
        const float* src = x + g.tokens[i] * n_in;
        if (g.dropout > 0.0f) {
          LoraDropout(g.dropout, g.dropout_seed, layer, target, g.tokens[i], src, n_in,
                      &xg_[i * n_in]);
        } else {
          std::memcpy(&xg_[i * n_in], src, n_in * sizeof(float));
        }
      }
      xs = xg_.data();
    }
    const kernels::WeightMatrix a{DType::kF32, p->a.data(), r, n_in,
                                  n_in * static_cast<int64_t>(sizeof(float))};
    const kernels::WeightMatrix b{DType::kF32, p->b.data(), n_out, r,
                                  r * static_cast<int64_t>(sizeof(float))};
    u_.resize(static_cast<size_t>(n * r));  // [n, r]
    kernels::MatMul(a, xs, n, u_.data(), pool);
    const float scaling = g.adapter->Scaling(*p);
    for (int64_t i = 0; i < n; ++i) {
      const float s = scaling * g.scales[i];
      for (int64_t j = 0; j < r; ++j) u_[i * r + j] *= s;
    }
    v_.resize(static_cast<size_t>(n * n_out));  // [n, n_out]
    kernels::MatMul(b, u_.data(), n, v_.data(), pool);
    for (int64_t i = 0; i < n; ++i) {
      float* dst = y + (contiguous ? first + i : g.tokens[i]) * n_out;
      const float* src = &v_[i * n_out];
      for (int64_t o = 0; o < n_out; ++o) dst[o] += src[o];
    }
  }
}

}  // namespace odlm
