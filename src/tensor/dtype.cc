// tensor/dtype.cc — the table of GGML types.
#include "tensor/dtype.h"

#include <array>
#include <cctype>
#include <string>

#include "base/ascii.h"
#include "base/check.h"
#include "tensor/block_layouts.h"

namespace odlm {
namespace {

constexpr std::array<DTypeInfo, 31> kTypes = {{
    {DType::kF32, "f32", 1, 4, false},
    {DType::kF16, "f16", 1, 2, false},
    {DType::kQ4_0, "q4_0", kQK4_0, sizeof(BlockQ4_0), true},
    {DType::kQ4_1, "q4_1", kQK4_1, sizeof(BlockQ4_1), true},
    {DType::kQ5_0, "q5_0", kQK5_0, sizeof(BlockQ5_0), true},
    {DType::kQ5_1, "q5_1", kQK5_1, sizeof(BlockQ5_1), true},
    {DType::kQ8_0, "q8_0", kQK8_0, sizeof(BlockQ8_0), true},
    {DType::kQ8_1, "q8_1", kQK8_1, sizeof(BlockQ8_1), true},
    {DType::kQ2_K, "q2_K", kQK_K, sizeof(BlockQ2_K), true},
    {DType::kQ3_K, "q3_K", kQK_K, sizeof(BlockQ3_K), true},
    {DType::kQ4_K, "q4_K", kQK_K, sizeof(BlockQ4_K), true},
    {DType::kQ5_K, "q5_K", kQK_K, sizeof(BlockQ5_K), true},
    {DType::kQ6_K, "q6_K", kQK_K, sizeof(BlockQ6_K), true},
    {DType::kQ8_K, "q8_K", kQK_K, sizeof(BlockQ8_K), true},
    // i-quants and ternary types: sizes known so files using them can be listed; no kernels yet.
    {DType::kIQ2_XXS, "iq2_xxs", 256, 66, true},
    {DType::kIQ2_XS, "iq2_xs", 256, 74, true},
    {DType::kIQ3_XXS, "iq3_xxs", 256, 98, true},
    {DType::kIQ1_S, "iq1_s", 256, 50, true},
    {DType::kIQ4_NL, "iq4_nl", 32, 18, true},
    {DType::kIQ3_S, "iq3_s", 256, 110, true},
    {DType::kIQ2_S, "iq2_s", 256, 82, true},
    {DType::kIQ4_XS, "iq4_xs", 256, 136, true},
    {DType::kI8, "i8", 1, 1, false},
    {DType::kI16, "i16", 1, 2, false},
    {DType::kI32, "i32", 1, 4, false},
    {DType::kI64, "i64", 1, 8, false},
    {DType::kF64, "f64", 1, 8, false},
    {DType::kIQ1_M, "iq1_m", 256, 56, true},
    {DType::kBF16, "bf16", 1, 2, false},
    {DType::kTQ1_0, "tq1_0", 256, 54, true},
    {DType::kTQ2_0, "tq2_0", 256, 66, true},
}};

}  // namespace

std::optional<DTypeInfo> LookupDType(uint32_t id) {
  for (const auto& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return t;
  }
  return std::nullopt;
}

const DTypeInfo& GetDTypeInfo(DType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t;
  }
  CHECK(false) << "unknown DType " << static_cast<uint32_t>(type);
  return kTypes[0];
}

std::optional<DType> ParseDType(std::string_view name) {
  const std::string lower = AsciiLower(name);
  for (const auto& t : kTypes) {
    if (AsciiLower(t.name) == lower) return t.type;
  }
  return std::nullopt;
}

int64_t RowBytes(DType type, int64_t n) {
  const DTypeInfo& info = GetDTypeInfo(type);
  CHECK_GE(n, 0);
  CHECK_EQ(n % info.block_size, 0) << "row of " << n << " elements of " << info.name;
  const int64_t blocks = n / info.block_size;
  CHECK_LE(blocks, INT64_MAX / info.type_size);
  return blocks * info.type_size;
}

}  // namespace odlm
