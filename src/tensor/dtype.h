// tensor/dtype.h — element and block types of GGUF tensors.
//
// The numeric values are the GGML type ids stored in GGUF files; they must never change.
// A quantized type packs `block_size` weights into `type_size` bytes (layouts: block_layouts.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace odlm {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // as llama.cpp prints it: "f32", "q4_0", "q4_K", ...
  int64_t block_size;     // weights per block (1 for plain types)
  int64_t type_size;      // bytes per block
  bool quantized;
};

// Info for a type id read from a file, or nullopt if the id is not a GGML type odlm knows of.
std::optional<DTypeInfo> LookupDType(uint32_t id);

// Info for a known type (CHECKs that it is known).
const DTypeInfo& GetDTypeInfo(DType type);

inline std::string_view DTypeName(DType type) { return GetDTypeInfo(type).name; }

// Parses "q4_0", "Q4_0", "q4_k", "f16", "bf16", ... ; nullopt if unknown.
std::optional<DType> ParseDType(std::string_view name);

// Bytes of `n` consecutive elements; CHECKs n % block_size == 0 and no overflow.
int64_t RowBytes(DType type, int64_t n);

}  // namespace odlm
