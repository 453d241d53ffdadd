// adapters/lora_apply.h — applying LoRA adapters unmerged inside a batched forward pass.
//
// The forward pass multiplies all T tokens of a batch by each base weight at once; the sequences
// of the batch may each have their own adapter set. After the base product, LoraBatch::Apply adds
//   y[t] += scale_s · (alpha / r) · B·(A·x[t])
// for every adapter of the sequence s that token t belongs to. Tokens are grouped per adapter
// (not per sequence), so a decode step of many sequences sharing an adapter costs one A product
// and one B product over all of them (kernels::MatMul on f32), each token row scaled by its own
// sequence's scale. Tokens whose scale is 0 are skipped, so scale 0 is exactly the base model.
//
// Cost per adapted matrix and adapter: 2·n·r·(n_in + n_out) flops for its n tokens, plus a
// gather/scatter of the rows when its tokens are not one contiguous run with one scale.
// Thread-safety: a LoraBatch is scratch state for one forward pass at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "adapters/lora_adapter.h"
#include "base/thread_pool.h"

namespace odlm {

// One adapter in a sequence's set, with the user's scale. The adapter is borrowed: it must
// outlive the forward pass that uses it (the engine keeps it alive with shared ownership).
struct ActiveLora {
  const LoraAdapter* adapter = nullptr;
  float scale = 1.0f;
  // Training only (train/): LoRA dropout on the adapter's input with probability `dropout`, masks
  // drawn by LoraDropout from `dropout_seed`. 0 at inference.
  float dropout = 0.0f;
  uint64_t dropout_seed = 0;
};

// LoRA dropout (PEFT's lora_dropout): out[i] = x[i] / (1 − p) where the element is kept, 0 where it
// is dropped (probability p). The mask is a pure function of (seed, layer, target, row, i) — row is
// the token's row in the batch — so a backward pass recomputes exactly the forward's mask without
// storing it. out may alias x. p in [0, 1) (CHECKed).
void LoraDropout(float p, uint64_t seed, int32_t layer, LoraTarget target, int64_t row,
                 const float* x, int64_t n, float* out);

class LoraBatch {
 public:
  // Starts a new batch (keeps the scratch buffers).
  void Reset();
  // Declares the next sequence of the batch: its `n_tokens` rows follow the previous sequence's.
  void AddSequence(std::span<const ActiveLora> adapters, int64_t n_tokens);
  bool empty() const { return groups_.empty(); }

  // y: [T, n_out] rows of the whole batch (the base product already in it); x: [T, n_in] the
  // base product's input. Adds each adapter's delta for (layer, target) to its tokens' rows.
  // CHECKs that the adapters' matrices have n_in / n_out.
  void Apply(int32_t layer, LoraTarget target, const float* x, int64_t n_in, float* y,
             int64_t n_out, ThreadPool* pool);

 private:
  struct Group {
    const LoraAdapter* adapter;
    std::vector<int64_t> tokens;  // batch rows, ascending
    std::vector<float> scales;    // [tokens.size()] user scale of each token's sequence
    float dropout = 0.0f;         // training: LoRA dropout of this adapter's input
    uint64_t dropout_seed = 0;
  };
  std::vector<Group> groups_;
  int64_t n_tokens_ = 0;
  std::vector<float> xg_;  // [n, n_in] gathered input rows
  std::vector<float> u_;   // [n, r] A·x
  std::vector<float> v_;   // [n, n_out] B·u
};

}  // namespace odlm
