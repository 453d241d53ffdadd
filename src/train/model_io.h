// train/model_io.h — what training reads and writes besides data: a new model from a config
// (training from scratch), and the trained results (full model GGUF, LoRA adapter GGUF / PEFT).
//
// Init config (JSON, `odlm train full --init CONFIG.json`): the shape keys of `odlm gen-model`
//   {"arch": "llama"|"qwen2", "dim": 256, "layers": 4, "heads": 4, "kv_heads": 2, "ffn": 768,
//    "ctx": 2048, "vocab": "tokenizer.gguf" | 512, "rope_base": 10000, "name": "my-model"}
// ("vocab": a GGUF file whose tokenizer is copied — e.g. from `odlm tokenizer train` — or a size
// for the built-in byte-level vocabulary; a relative path is relative to the config file).
// Stated initialisation (GPT-2 / Llama practice): every matrix and the embedding ~ N(0, 0.02²),
// the residual branches' output projections (attn_output, ffn_down) ~ N(0, (0.02/√(2·n_layer))²),
// norms 1, biases 0; normal samples by Box-Muller over std::mt19937_64 (same on every platform).
#pragma once

#include <memory>
#include <string>

#include "adapters/lora_adapter.h"
#include "base/status.h"
#include "gguf/gguf_reader.h"
#include "tensor/dtype.h"
#include "train/params.h"

namespace odlm::train {

// A model built in memory from an init config: its GGUF bytes (F32) and the parsed file over them.
struct InitialModel {
  std::string bytes;
  std::unique_ptr<GgufFile> file;
};
// Reads `config_path` and builds the model's tensors and metadata (values to be replaced by
// InitializeParams). InvalidArgument naming the key for a bad config.
StatusOr<InitialModel> BuildInitialModel(const std::string& config_path);

// Sets every parameter by the stated initialisation (above) from `seed`.
void InitializeParams(ParamSet* params, int32_t n_layer, uint64_t seed);

// Writes a full model: `source`'s metadata (general.file_type updated, general.name replaced when
// `name` is not empty) and every tensor in its order — the trained ones from `params` in `type`
// (F32, F16 or BF16; 1-D tensors stay F32 as llama.cpp keeps them), the rest copied as stored.
// Crash-safe (GgufWriter::WriteFile). InvalidArgument for another type.
Status WriteTrainedModel(const GgufFile& source, const ParamSet& params, DType type,
                         const std::string& name, const std::string& path);

// Writes a LoRA adapter as a llama.cpp GGUF adapter (crash-safe).
Status WriteTrainedAdapter(const LoraAdapter& adapter, const std::string& path);

}  // namespace odlm::train
