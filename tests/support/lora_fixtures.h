// tests/support/lora_fixtures.h — LoRA adapters for tests: random ones that fit any model, and
// one derived from the shared rank-8 adapter of tiny-llama-f32 that differs from it, written as a
// GGUF adapter.
#pragma once

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "adapters/lora_adapter.h"
#include "gguf/gguf_writer.h"

namespace odlm::testing {

// A random rank-4 adapter on every projection of every layer of `base`, strong enough to change
// the greedy output of the generated model; `seed` picks which.
inline StatusOr<std::unique_ptr<LoraAdapter>> RandomLoraAdapter(const LoraBaseShape& base,
                                                                uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<LoraPair> pairs;
  for (int32_t layer = 0; layer < base.n_layer; ++layer) {
    for (int t = 0; t < kLoraTargetCount; ++t) {
      LoraPair p;
      p.layer = layer;
      p.target = static_cast<LoraTarget>(t);
      p.rank = 4;
      p.n_in = base.cols[t];
      p.n_out = base.rows[t];
      p.a.resize(static_cast<size_t>(p.rank * p.n_in));
      p.b.resize(static_cast<size_t>(p.n_out * p.rank));
      const float sa = 1.0f / std::sqrt(static_cast<float>(p.n_in));
      for (float& v : p.a) v = u(rng) * sa;
      for (float& v : p.b) v = u(rng) * 0.5f;
      pairs.push_back(std::move(p));
    }
  }
  return LoraAdapter::FromPairs(base.arch, 4.0f, std::move(pairs), base);
}

// Writes to `dst` the adapter at `src` with its B matrices changed: every odd row multiplied by
// `odd_row_factor` (so that it pulls the model elsewhere). Returns the error, if any.
inline Status WriteVariantAdapter(const std::string& src, const LoraBaseShape& base,
                                  const std::string& dst, float odd_row_factor = -1.5f) {
  ASSIGN_OR_RETURN(std::unique_ptr<LoraAdapter> a, LoraAdapter::Load(src, base));
  std::vector<LoraPair> pairs = a->pairs();
  for (LoraPair& p : pairs) {
    for (int64_t o = 1; o < p.n_out; o += 2) {
      for (int64_t k = 0; k < p.rank; ++k) p.b[o * p.rank + k] *= odd_row_factor;
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LoraAdapter> v,
                   LoraAdapter::FromPairs(a->arch(), a->alpha(), std::move(pairs), base));
  GgufWriter w;
  RETURN_IF_ERROR(v->ToGguf(&w));
  return w.WriteFile(dst);
}

}  // namespace odlm::testing
