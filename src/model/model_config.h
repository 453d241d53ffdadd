// model/model_config.h — the hyperparameters of a Llama-family model, read from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/gguf_reader.h"

namespace odlm {

enum class ModelArch { kLlama, kQwen2 };

enum class RopeStyle {
  kNormal,  // rotate adjacent pairs (x[2i], x[2i+1]): llama
  kNeox,    // rotate x[i] with x[i + head_dim/2]: qwen2 and other NeoX-style models
};

struct ModelConfig {
  ModelArch arch = ModelArch::kLlama;
  std::string arch_name;  // "llama", "qwen2"
  std::string name;       // general.name, if any
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  int32_t n_ff = 0;
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  float norm_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::kNormal;
  float rope_freq_base = 10000.0f;
  // Linear RoPE scaling (positions divided by the factor); 1 = none.
  float rope_linear_factor = 1.0f;
  // Llama 3.1+ style per-frequency factors (the `rope_freqs.weight` tensor): [head_dim / 2] or
  // empty.
  std::vector<float> rope_freq_factors;

  int32_t q_dim() const { return n_head * head_dim; }
  int32_t kv_dim() const { return n_head_kv * head_dim; }
  std::string Summary() const;  // one line for load logs
};

// Reads and validates the hyperparameters. Unsupported architectures, missing keys and
// inconsistent shapes are InvalidArgument / Unimplemented errors naming the key.
StatusOr<ModelConfig> ReadModelConfig(const GgufFile& file);

}  // namespace odlm
