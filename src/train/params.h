// train/params.h — the trainable tensors of a training run and their gradients.
//
// A Param names one f32 tensor the optimizer updates: its GGUF name and dims (GGUF order, fastest
// first), a pointer to its values (owned elsewhere: a TrainableModel's f32 copies, a model's norm
// vectors, a LoRA pair's matrices) and its gradient buffer (owned here, same size). The order of a
// ParamSet is fixed at construction and is the order of checkpoints and outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace odlm::train {

struct Param {
  std::string name;           // GGUF tensor name, e.g. "blk.0.attn_q.weight.lora_a"
  std::vector<int64_t> dims;  // GGUF order (dims[0] fastest)
  float* data = nullptr;      // [n] values, not owned
  int64_t n = 0;              // number of elements
  std::vector<float> grad;    // [n] d loss / d data, accumulated by backward passes
  bool decay = true;          // weight decay applies (not to norms and biases)
};

using ParamSet = std::vector<Param>;

// Sets every gradient to 0.
void ZeroGrads(ParamSet* params);
// √(Σ grad²) over all parameters, accumulated in double in ParamSet order (deterministic).
double GradNorm(const ParamSet& params);
// Total elements.
int64_t CountParams(const ParamSet& params);

}  // namespace odlm::train
