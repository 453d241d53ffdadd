// train/trainable_model.h — a model set up for training: which tensors are trainable, where their
// values and gradients live, and the model/ forward pass that runs over them.
//
// Two modes:
//   full  every tensor of the model (embeddings, norms, the seven projections, Q/K/V biases,
//   output)
//         is an owned f32 copy (a quantized file is dequantized); the LlamaModel's weight views
//         point at the copies, so an optimizer step is seen by the next forward pass.
//   lora  the base stays frozen in its stored block type (views into the GGUF file, which must
//         outlive this object); the trainable tensors are a LoRA adapter's A and B (f32), applied
//         by the forward pass at scale 1. Products run in f32 (LlamaModel::set_float_matmul), so
//         the loss on a quantized base is that of its dequantized weights.
// The ParamSet lists the trainable tensors in GGUF order and names (the model file's tensor order
// for full; the adapter's pair order, lora_a then lora_b, for LoRA); GradTargets tells the backward
// pass where each one's gradient goes (nullptr: frozen).
//
// Thread-safety: one training step at a time. Memory: full = 4 bytes per parameter for values,
// 4 for gradients (plus the optimizer's 8); lora = the base file mapped plus 8 bytes per adapter
// parameter.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/lora_adapter.h"
#include "base/status.h"
#include "gguf/gguf_reader.h"
#include "model/llama_model.h"
#include "train/params.h"

namespace odlm::train {

// Where the gradient of a LoRA pair's A and B goes.
struct LoraGrad {
  const LoraPair* pair = nullptr;  // nullptr: the matrix has no adapter
  float scaling = 0.0f;            // alpha / rank (user scale 1)
  float* da = nullptr;             // [rank, n_in]
  float* db = nullptr;             // [n_out, rank]
};

// Gradient buffers of one layer's tensors; nullptr for a frozen tensor.
struct LayerGrads {
  float* attn_norm = nullptr;
  float* ffn_norm = nullptr;
  std::array<float*, kLoraTargetCount> w{};  // by LoraTarget: wq wk wv wo gate up down
  float* bq = nullptr;
  float* bk = nullptr;
  float* bv = nullptr;
  std::array<LoraGrad, kLoraTargetCount> lora{};
};

struct GradTargets {
  float* token_embd = nullptr;  // [n_vocab, n_embd]
  float* output = nullptr;      // [n_vocab, n_embd]; == token_embd when tied
  float* output_norm = nullptr;
  std::vector<LayerGrads> layers;
};

// How products with a frozen base run in LoRA mode.
enum class BaseArithmetic {
  kAuto,  // int8 for a quantized base on a CPU with AVX-512 VNNI, f32 otherwise
  kF32,   // f32 activations × exactly dequantized weights (matches a float reference)
  kInt8,  // inference's kernels: Q8 activations × the stored blocks forward; backward through
          // a Q8_0 copy of each Wᵀ (kernels/transpose_quantize.h, 1.06 bytes per base weight)
};
// "auto", "f32", "int8"; InvalidArgument otherwise.
StatusOr<BaseArithmetic> ParseBaseArithmetic(const std::string& name);

struct LoraSpec {
  int32_t rank = 8;
  float alpha = 16.0f;
  std::vector<LoraTarget> targets = {
      LoraTarget::kAttnQ,   LoraTarget::kAttnK, LoraTarget::kAttnV,  LoraTarget::kAttnOutput,
      LoraTarget::kFfnGate, LoraTarget::kFfnUp, LoraTarget::kFfnDown};
  float dropout = 0.0f;  // LoRA dropout on each adapted matrix's input while training
  uint64_t seed = 0;     // A ~ U(-1/√n_in, 1/√n_in) (PEFT's default), B = 0
  // Continue training this adapter (GGUF or PEFT, adapters/lora_adapter.h) instead of a new one:
  // rank, alpha and targets then come from it.
  std::string from_adapter;
  BaseArithmetic arithmetic = BaseArithmetic::kAuto;
};

// Parses "q,k,v,o,gate,up,down" (also the GGUF names attn_q …, and "all"); InvalidArgument.
StatusOr<std::vector<LoraTarget>> ParseLoraTargets(const std::string& spec);

class TrainableModel {
 public:
  // Full fine-tuning of `file`'s model.
  static StatusOr<std::unique_ptr<TrainableModel>> Full(const GgufFile& file);
  // LoRA on the frozen `base`: a new adapter from `spec`, or spec.from_adapter's.
  // `pool` (may be null) builds the int8 mode's transposed copies.
  static StatusOr<std::unique_ptr<TrainableModel>> Lora(const GgufFile& base, const LoraSpec& spec,
                                                        ThreadPool* pool = nullptr);

  LlamaModel& model() { return *model_; }
  const ModelConfig& config() const { return model_->config(); }
  ParamSet& params() { return params_; }
  const GradTargets& grads() const { return grads_; }
  bool is_lora() const { return adapter_ != nullptr; }
  // The adapter being trained (LoRA mode), or nullptr.
  const LoraAdapter* adapter() const { return adapter_.get(); }
  // The ActiveLora list a forward pass of this model uses (empty in full mode).
  std::span<const ActiveLora> active() const { return active_; }
  // LoRA dropout of the next passes: `training` turns on the spec's dropout with masks from
  // `seed` (a new seed per micro-batch), false turns it off (validation). No-op in full mode.
  void SetDropout(bool training, uint64_t seed);
  float lora_dropout() const { return lora_dropout_; }
  // int8 mode: the Q8_0 transpose of frozen weight `w` (by its data pointer), or nullptr (then
  // backward uses kernels::MatMulTransposed in f32).
  const kernels::WeightMatrix* TransposedBase(const kernels::WeightMatrix& w) const;
  bool int8_base() const { return !transposed_.empty(); }

 private:
  TrainableModel() = default;
  void BuildLoraParams();

  std::unique_ptr<LlamaModel> model_;
  std::vector<std::vector<float>> owned_;  // full mode: f32 copies of the weight matrices
  std::unique_ptr<LoraAdapter> adapter_;
  std::vector<ActiveLora> active_;
  float lora_dropout_ = 0.0f;
  std::vector<std::vector<uint8_t>> transposed_storage_;
  std::unordered_map<const void*, kernels::WeightMatrix> transposed_;
  ParamSet params_;
  GradTargets grads_;
};

}  // namespace odlm::train
