// kernels/quant.cc — dispatch of the public quantize/dequantize calls to kernels/ref.
#include "kernels/quant.h"

#include "base/check.h"
#include "kernels/ref/ref_kernels.h"

namespace odlm::kernels {
namespace {

struct Codec {
  DType type;
  void (*quantize)(const float*, void*, int64_t);
  void (*dequantize)(const void*, float*, int64_t);
};

constexpr Codec kCodecs[] = {
    {DType::kF32, ref::QuantizeF32, ref::DequantizeF32},
    {DType::kF16, ref::QuantizeF16, ref::DequantizeF16},
    {DType::kBF16, ref::QuantizeBF16, ref::DequantizeBF16},
    {DType::kQ4_0, ref::QuantizeQ4_0, ref::DequantizeQ4_0},
    {DType::kQ4_1, ref::QuantizeQ4_1, ref::DequantizeQ4_1},
    {DType::kQ5_0, ref::QuantizeQ5_0, ref::DequantizeQ5_0},
    {DType::kQ5_1, ref::QuantizeQ5_1, ref::DequantizeQ5_1},
    {DType::kQ8_0, ref::QuantizeQ8_0, ref::DequantizeQ8_0},
    {DType::kQ8_1, ref::QuantizeQ8_1, ref::DequantizeQ8_1},
    {DType::kQ2_K, ref::QuantizeQ2_K, ref::DequantizeQ2_K},
    {DType::kQ3_K, ref::QuantizeQ3_K, ref::DequantizeQ3_K},
    {DType::kQ4_K, ref::QuantizeQ4_K, ref::DequantizeQ4_K},
    {DType::kQ5_K, ref::QuantizeQ5_K, ref::DequantizeQ5_K},
    {DType::kQ6_K, ref::QuantizeQ6_K, ref::DequantizeQ6_K},
    {DType::kQ8_K, ref::QuantizeQ8_K, ref::DequantizeQ8_K},
};

const Codec* FindCodec(DType type) {
  for (const Codec& c : kCodecs) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

}  // namespace

bool HasReferenceQuantizer(DType type) { return FindCodec(type) != nullptr; }
bool CanDequantize(DType type) { return FindCodec(type) != nullptr; }

void QuantizeRow(DType type, const float* src, void* dst, int64_t n) {
  const Codec* c = FindCodec(type);
  CHECK(c != nullptr) << "no quantizer for " << DTypeName(type);
  CHECK_GE(n, 0);
  CHECK_EQ(n % GetDTypeInfo(type).block_size, 0) << "row of " << n << " for " << DTypeName(type);
  c->quantize(src, dst, n);
}

void DequantizeRow(DType type, const void* src, float* dst, int64_t n) {
  const Codec* c = FindCodec(type);
  CHECK(c != nullptr) << "no dequantizer for " << DTypeName(type);
  CHECK_GE(n, 0);
  CHECK_EQ(n % GetDTypeInfo(type).block_size, 0) << "row of " << n << " for " << DTypeName(type);
  c->dequantize(src, dst, n);
}

}  // namespace odlm::kernels
