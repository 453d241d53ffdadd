// model/quant_mix.cc — see quant_mix.h.
#include "model/quant_mix.h"

#include <cctype>
#include <cstring>

#include "base/ascii.h"
#include "kernels/quant.h"

namespace odlm {
namespace {

constexpr const char* kQ4KM = "q4_K_M";

// llama.cpp's choice of layers that get more bits in the Q4_K_M mix: the first and last eighth
// of the layers and every third layer in between.
bool UseMoreBits(int64_t i, int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

}  // namespace

// A type whose block does not divide the row length falls back as llama.cpp does.
DType FallbackType(DType t, int64_t row_len) {
  if (row_len % GetDTypeInfo(t).block_size == 0) return t;
  switch (t) {
    case DType::kQ2_K:
    case DType::kQ3_K:
      t = DType::kQ4_0;
      break;
    case DType::kQ4_K:
      t = DType::kQ5_0;
      break;
    case DType::kQ5_K:
      t = DType::kQ5_1;
      break;
    case DType::kQ6_K:
      t = DType::kQ8_0;
      break;
    default:
      break;
  }
  return row_len % GetDTypeInfo(t).block_size == 0 ? t : DType::kF16;
}

// llama.cpp's general.file_type (llama_ftype) for a requested type.
uint32_t LlamaFileType(const std::string& mix) {
  if (mix == kQ4KM) return 15;
  switch (*ParseDType(mix)) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ4_1:
      return 3;
    case DType::kQ8_0:
      return 7;
    case DType::kQ5_0:
      return 8;
    case DType::kQ5_1:
      return 9;
    case DType::kQ2_K:
      return 10;
    case DType::kQ3_K:
      return 12;  // Q3_K_M
    case DType::kQ4_K:
      return 14;  // Q4_K_S
    case DType::kQ5_K:
      return 16;  // Q5_K_S
    case DType::kQ6_K:
      return 18;
    case DType::kBF16:
      return 32;
    default:
      return 0;
  }
}

StatusOr<std::string> CanonicalQuantMix(const std::string& type) {
  if (AsciiLower(type) == AsciiLower(kQ4KM)) return std::string(kQ4KM);
  const std::optional<DType> t = ParseDType(type);
  if (!t || !kernels::HasReferenceQuantizer(*t) || *t == DType::kQ8_1 || *t == DType::kQ8_K) {
    return InvalidArgumentError("block type '" + type +
                                "': expected one of f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K "
                                "q3_K q4_K q5_K q6_K q4_K_M");
  }
  return std::string(DTypeName(*t));
}

DType MixTensorType(const std::string& mix, const std::string& name, int64_t layer,
                    int64_t n_layer) {
  if (mix != kQ4KM) return *ParseDType(mix);
  const auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  if (name == "output.weight") return DType::kQ6_K;
  if (ends_with("attn_qkv.weight")) return DType::kQ5_K;  // fused Q/K/V (phi3), as llama.cpp
  if ((ends_with("attn_v.weight") || ends_with("ffn_down.weight")) && layer >= 0 &&
      UseMoreBits(layer, n_layer))
    return DType::kQ6_K;
  return DType::kQ4_K;
}

bool IsQuantizedMix(const std::string& mix) {
  return mix == kQ4KM || GetDTypeInfo(*ParseDType(mix)).quantized;
}

}  // namespace odlm
