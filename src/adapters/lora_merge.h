// adapters/lora_merge.h — building one adapter out of several (for composite tasks), and folding
// adapters into the base weights for deployment.
//
// Merge methods, per adapted matrix, with user weights w_i and each adapter's scaling
// s_i = alpha_i / r_i, ΔW_i = w_i · s_i · B_i·A_i:
//   kConcat  exact: A = [A_1; A_2; …], B = [w_1 s_1 B_1, w_2 s_2 B_2, …]; rank Σ r_i.
//   kLinear  task arithmetic: Σ ΔW_i, as its best rank-R approximation, computed in factored form
//            (thin QRs of [w_i s_i B_i] and [A_i]ᵀ, SVD of the (Σ r_i)² core): never dense.
//   kTies    TIES: each ΔW_i keeps its `density` fraction of largest-magnitude entries; per entry
//            the sign of the sum is elected; the mean of the kept entries that agree with it.
//   kDare    DARE: each entry of each ΔW_i is kept with probability `density` (seeded) and
//            rescaled by 1/density; then summed.
// TIES and DARE work entry by entry on the dense ΔW (n_out × n_in floats per matrix at a time) and
// factor it back to rank R by subspace iteration: exact when ΔW has rank ≤ R, the best rank-R
// approximation otherwise (up to the iteration's convergence). The merged adapter has alpha = its
// largest rank, with each pair's scaling folded into B, so it applies at scale 1.
//
// Cost per matrix, S = Σ r_i: kConcat O(params); kLinear O((n_out + n_in)·S² + S³); kTies and
// kDare O(n_out · n_in · (S + 8 R)). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adapters/lora_adapter.h"
#include "adapters/lora_apply.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace odlm {

enum class MergeMethod { kLinear, kTies, kDare, kConcat };

// "linear", "ties", "dare", "cat" (also "concat", "task_arithmetic" = linear); false if unknown.
bool ParseMergeMethod(std::string_view name, MergeMethod* method);

struct MergeOptions {
  MergeMethod method = MergeMethod::kLinear;
  std::vector<float> weights;  // one per adapter; empty: all 1
  int32_t rank = 0;            // rank of the result (not kConcat); 0: the largest input rank
  float density = 0.5f;        // kTies: fraction kept; kDare: keep probability; in (0, 1]
  uint64_t seed = 1;           // kDare
};

// Merges adapters that all fit `base`. InvalidArgument for bad weights / density / rank.
StatusOr<std::unique_ptr<LoraAdapter>> MergeAdapters(std::span<const LoraAdapter* const> adapters,
                                                     const MergeOptions& options,
                                                     const LoraBaseShape& base);

// Writes `base_file` with W' = W + Σ scale·(alpha/r)·B·A folded into every adapted matrix, the
// adapted matrices re-quantized to `type` (nullopt: each matrix's own type; kernels::QuantizeRow;
// the type's block size must divide the rows, else InvalidArgument) and every other tensor and all
// metadata copied unchanged (but general.alignment, which the writer sets). Streams one tensor at a
// time into `path`. InvalidArgument, before anything is written, when an adapted matrix is not a
// tensor of the file with the adapter's shape (fused attn_qkv / gate-up files such as phi3's).
Status BakeAdapters(const GgufFile& base_file, std::span<const ActiveLora> adapters,
                    std::optional<DType> type, const std::string& path);

}  // namespace odlm
