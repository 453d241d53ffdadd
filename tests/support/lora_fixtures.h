// tests/support/lora_fixtures.h — LoRA adapters for tests: one derived from the shared rank-8
// adapter of tiny-llama-f32 that differs from it, written as a GGUF adapter. (Random adapters that
// fit any model: adapters/lora_random.h.)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/lora_adapter.h"
#include "gguf/gguf_writer.h"

namespace odlm::testing {

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
