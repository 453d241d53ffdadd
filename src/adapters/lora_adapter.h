// adapters/lora_adapter.h — LoRA task adapters: loading (llama.cpp GGUF adapters and Hugging Face
// PEFT directories), validation against a base model, and writing back as GGUF.
//
// An adapter holds, per adapted weight matrix W [n_out, n_in] of the base model, a low-rank pair
//   A [r, n_in] and B [n_out, r]   (row-major f32, converted from the file's F32/F16/BF16/… at
//   load)
// and applies as  y = W·x + scale · (alpha / r) · B·(A·x)  (scale chosen by the user per use).
//
// The adapters layer sits beside the model and must not know its types: the base model is
// described to it by plain numbers (LoraBaseShape), which model/ fills in.
//
// Ownership: a LoraAdapter owns its matrices (no pointers into files). Immutable after load, so
// one adapter may be shared by any number of sessions and threads.
// Cost: loading reads and converts every adapter tensor (a rank-16 adapter of a 1.1B model on all
// seven projections is ~12.6 M parameters, ~50 MB as f32).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace odlm {

// The weight matrices of a Llama-family layer that an adapter may adapt.
enum class LoraTarget : int32_t {
  kAttnQ = 0,
  kAttnK,
  kAttnV,
  kAttnOutput,
  kFfnGate,
  kFfnUp,
  kFfnDown,
};
inline constexpr int kLoraTargetCount = 7;

// GGUF role name: "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down".
std::string_view LoraTargetName(LoraTarget target);
// The base tensor a target adapts: "blk.<layer>.<target>.weight".
std::string LoraBaseTensorName(int32_t layer, LoraTarget target);

// What an adapter must match: the base model in plain numbers.
struct LoraBaseShape {
  std::string arch;  // general.architecture of the base ("llama", "qwen2")
  int32_t n_layer = 0;
  std::array<int64_t, kLoraTargetCount> rows{};  // n_out of each target matrix
  std::array<int64_t, kLoraTargetCount> cols{};  // n_in of each target matrix
  // Hugging Face checkpoints of GGUF "llama" models store q/k rows in the half-split RoPE order;
  // the GGUF converter permutes them per head. PEFT lora_B of q/k must be permuted the same way.
  bool permute_qk_from_hf = false;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
};

// One adapted matrix.
struct LoraPair {
  int32_t layer = 0;
  LoraTarget target = LoraTarget::kAttnQ;
  int32_t rank = 0;
  int64_t n_in = 0;
  int64_t n_out = 0;
  std::vector<float> a;  // [rank, n_in]
  std::vector<float> b;  // [n_out, rank]
};

class LoraAdapter {
 public:
  // Loads `path`: a directory (or its adapter_model.safetensors / adapter_config.json) is a PEFT
  // adapter; anything else is read as a GGUF adapter. Validated against `base`: architecture,
  // tensor names (blk.N.<target>.weight.lora_a / .lora_b, N < n_layer), pairs complete, shapes
  // (lora_a [n_in, r], lora_b [r, n_out] in GGUF order; n_in/n_out those of the base matrix) and
  // one rank per pair. Errors name the file, the tensor and what was expected.
  static StatusOr<std::unique_ptr<LoraAdapter>> Load(const std::string& path,
                                                     const LoraBaseShape& base);
  static StatusOr<std::unique_ptr<LoraAdapter>> FromGguf(const GgufFile& file,
                                                         const LoraBaseShape& base);
  // PEFT: `dir` holds adapter_config.json (r, lora_alpha, target_modules, use_rslora) and
  // adapter_model.safetensors (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
  // [r, in] / lora_B.weight [out, r], F32 / F16 / BF16).
  static StatusOr<std::unique_ptr<LoraAdapter>> FromPeftDirectory(const std::string& dir,
                                                                  const LoraBaseShape& base);
  // From pairs built in memory (merges, tests): checks them against `base` like a file.
  static StatusOr<std::unique_ptr<LoraAdapter>> FromPairs(std::string arch, float alpha,
                                                          std::vector<LoraPair> pairs,
                                                          const LoraBaseShape& base);

  const std::string& arch() const { return arch_; }
  float alpha() const { return alpha_; }
  // (alpha / rank) of a pair: what B·A is multiplied by before the user's scale.
  float Scaling(const LoraPair& p) const { return alpha_ / static_cast<float>(p.rank); }
  const std::vector<LoraPair>& pairs() const { return pairs_; }
  // The pairs' values for an adapter being trained (train/): the owner of an adapter that no one
  // else uses may change A and B in place between forward passes. Shapes must not change.
  std::vector<LoraPair>& mutable_pairs() { return pairs_; }
  // The pair adapting (layer, target), or nullptr. O(1).
  const LoraPair* Find(int32_t layer, LoraTarget target) const {
    const size_t i = static_cast<size_t>(layer) * kLoraTargetCount + static_cast<size_t>(target);
    return i < index_.size() && index_[i] >= 0 ? &pairs_[index_[i]] : nullptr;
  }
  int32_t n_layer() const { return n_layer_; }
  // Largest rank of any pair (the rank for a uniform adapter).
  int32_t max_rank() const;
  int64_t n_params() const;
  // "rank 8, alpha 16, 8 matrices (attn_q attn_v …), 0.15 M parameters".
  std::string Describe() const;

  // The adapter as a llama.cpp-compatible GGUF adapter (F32 tensors) in `w`.
  Status ToGguf(GgufWriter* w) const;

 private:
  LoraAdapter() = default;
  std::string arch_;
  float alpha_ = 0;
  int32_t n_layer_ = 0;
  std::vector<LoraPair> pairs_;
  std::vector<int32_t> index_;  // [n_layer * kLoraTargetCount] → pairs_ index or -1
};

// Writes `adapter` as a Hugging Face PEFT directory `dir` (created if needed): adapter_config.json
// (peft_type LORA, r, lora_alpha, target_modules) and adapter_model.safetensors (F32
// base_model.model.model.layers.N.<module>.lora_A.weight [r, in] / lora_B.weight [out, r]). q/k
// lora_B rows are put back in Hugging Face's half-split order when base.permute_qk_from_hf, so
// FromPeftDirectory reads back exactly `adapter`. Each file is written crash-safely. The adapter
// must have one rank for all pairs (InvalidArgument otherwise: PEFT's config has one r).
Status WritePeftDirectory(const LoraAdapter& adapter, const LoraBaseShape& base,
                          const std::string& dir);

// Parses "blk.N.<target>.weight" into (layer, target); false if it is not such a name.
bool ParseLoraBaseName(std::string_view name, int32_t* layer, LoraTarget* target);

}  // namespace odlm
