// model/quant_mix.h — which block type each tensor of a Llama-family model gets for a requested
// file type: the one rule shared by `odlm gen-model` (random weights written straight into a
// type) and `odlm quantize` (a trained model converted), so both make the files llama.cpp makes.
//
// A "mix" is a block-type name (f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K)
// or llama.cpp's "q4_K_M" recipe: Q4_K, with output.weight and attn_v / ffn_down of some layers
// (the first and last eighth and every third in between) in Q6_K. 1-D tensors (norms, biases) are
// not covered: they stay F32. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "tensor/dtype.h"

namespace odlm {

// The canonical spelling of `type` ("Q8_0" → "q8_0", "Q4_K_M" → "q4_K_M"); InvalidArgument
// listing the accepted names otherwise.
StatusOr<std::string> CanonicalQuantMix(const std::string& type);

// The block type of one 2-D weight for `mix` (canonical), before the row-length fallback.
// `layer` is -1 for tensors outside the blocks.
DType MixTensorType(const std::string& mix, const std::string& tensor_name, int64_t layer,
                    int64_t n_layer);

// `type`, or the type llama.cpp falls back to when its block does not divide `row_len`
// (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, Q2_K/Q3_K → Q4_0, then F16).
DType FallbackType(DType type, int64_t row_len);

// llama.cpp's general.file_type (llama_ftype) for `mix` (canonical).
uint32_t LlamaFileType(const std::string& mix);

// Whether `mix` (canonical) stores weights in quantized blocks (files of such mixes carry
// general.quantization_version = 2, as llama.cpp writes them).
bool IsQuantizedMix(const std::string& mix);

}  // namespace odlm
