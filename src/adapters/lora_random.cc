// adapters/lora_random.cc — see lora_random.h.
#include "adapters/lora_random.h"

#include <cmath>
#include <random>
#include <vector>

namespace odlm {

StatusOr<std::unique_ptr<LoraAdapter>> RandomLoraAdapter(const LoraBaseShape& base, int32_t rank,
                                                         uint32_t seed, float b_scale) {
  if (rank < 1) return InvalidArgumentError("LoRA rank must be >= 1, got " + std::to_string(rank));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<LoraPair> pairs;
  for (int32_t layer = 0; layer < base.n_layer; ++layer) {
    for (int t = 0; t < kLoraTargetCount; ++t) {
      LoraPair p;
      p.layer = layer;
      p.target = static_cast<LoraTarget>(t);
      p.rank = rank;
      p.n_in = base.cols[t];
      p.n_out = base.rows[t];
      p.a.resize(static_cast<size_t>(p.rank * p.n_in));
      p.b.resize(static_cast<size_t>(p.n_out * p.rank));
      const float sa = 1.0f / std::sqrt(static_cast<float>(p.n_in));
      for (float& v : p.a) v = u(rng) * sa;
      for (float& v : p.b) v = u(rng) * b_scale;
      pairs.push_back(std::move(p));
    }
  }
  return LoraAdapter::FromPairs(base.arch, static_cast<float>(rank), std::move(pairs), base);
}

}  // namespace odlm
