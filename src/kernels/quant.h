// kernels/quant.h — reference (scalar) quantizers and dequantizers for GGUF block types.
//
// Dequantization decodes blocks exactly as GGUF files mean them (layouts: tensor/block_layouts.h;
// the bit-level decoding is in kernels/ref/). Quantization is our own error-minimizing encoder:
// legacy types (Q4_0 … Q8_0) use max-abs (or min/max) scaling with round-to-nearest; K-quants
// search each sub-block's scale (and min) to minimize weighted squared error, then pack the
// sub-block scales as the format prescribes.
//
// All functions are pure, thread-safe and allocation-free; cost is O(n) (K-quant quantizers do a
// small fixed search per sub-block, ~20-40 passes over each 16/32 weights).
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace odlm::kernels {

// True for F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K (and Q8_1).
bool HasReferenceQuantizer(DType type);
// Same set as HasReferenceQuantizer.
bool CanDequantize(DType type);

// Encodes n floats into RowBytes(type, n) bytes at dst. CHECKs n % block_size == 0 and that the
// type is supported. Non-finite inputs are a programmer error (output unspecified, no crash).
// src: [n] f32;  dst: [n / block_size] blocks of `type`.
void QuantizeRow(DType type, const float* src, void* dst, int64_t n);

// Decodes n elements (n % block_size == 0, CHECKed) of `type` at src into dst.
// src: [n / block_size] blocks;  dst: [n] f32.
void DequantizeRow(DType type, const void* src, float* dst, int64_t n);

}  // namespace odlm::kernels
