// adapters/lora_random.h — seeded random LoRA adapters, for benchmarks (`--random-lora`) and tests
// that need an adapter on every projection without a training run.
#pragma once

#include <cstdint>
#include <memory>

#include "adapters/lora_adapter.h"
#include "base/status.h"

namespace odlm {

// A rank-`rank` adapter (alpha = rank, so scaling 1) on all seven projections of every layer of
// `base`: A ~ U(-1, 1) / √n_in, B ~ U(-1, 1) · b_scale, drawn in layer, target, A-then-B order
// from std::mt19937(seed) (platform-independent: the same seed gives the same adapter). Errors as
// LoraAdapter::FromPairs (a rank < 1).
StatusOr<std::unique_ptr<LoraAdapter>> RandomLoraAdapter(const LoraBaseShape& base, int32_t rank,
                                                         uint32_t seed, float b_scale);

}  // namespace odlm
