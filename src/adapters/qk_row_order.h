// adapters/qk_row_order.h — Hugging Face vs GGUF row order of q/k projections (internal to
// adapters/).
//
// GGUF "llama" files store q/k rows per head in adjacent-pair RoPE order; Hugging Face checkpoints
// (and PEFT adapters of them) in the half-split order. Within head h (head_dim rows), HF row
// h·hd + j·hd/2 + i is GGUF row h·hd + 2i + j (j ∈ {0, 1}).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace odlm::internal {

// Reorders the rows of b [n_heads·head_dim, r]: Hugging Face → GGUF order (to_gguf) or back.
inline void ReorderQkRows(std::vector<float>* b, int64_t r, int32_t n_heads, int32_t head_dim,
                          bool to_gguf) {
  std::vector<float> out(b->size());
  const int32_t half = head_dim / 2;
  for (int32_t h = 0; h < n_heads; ++h) {
    for (int32_t j = 0; j < 2; ++j) {
      for (int32_t i = 0; i < half; ++i) {
        const int64_t hf = static_cast<int64_t>(h) * head_dim + j * half + i;
        const int64_t gguf = static_cast<int64_t>(h) * head_dim + 2 * i + j;
        const int64_t dst = to_gguf ? gguf : hf, src = to_gguf ? hf : gguf;
        std::memcpy(&out[dst * r], &(*b)[src * r], r * sizeof(float));
      }
    }
  }
  *b = std::move(out);
}

}  // namespace odlm::internal
