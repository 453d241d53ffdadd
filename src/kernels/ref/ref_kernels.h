// kernels/ref/ref_kernels.h — the scalar reference per block type (internal to kernels/).
//
// These are the oracle every SIMD variant is tested against. Each type has a dequantizer, a
// quantizer and, for weight types, a dot product of one weight row with one activation row in the
// activation format the type pairs with (ActivationType): f32 for float weights, Q8_0 for Q4_0 /
// Q5_0 / Q8_0, Q8_1 for Q4_1 / Q5_1, Q8_K for the K-quants. Quantized dots use exact integer sums
// per block (or sub-block) and scale them in f32, so every variant can match them closely.
#pragma once

#include <cstdint>

#include "kernels/ref/k_scales.h"
#include "tensor/dtype.h"

namespace odlm::kernels::ref {

// src: [n] blocks' worth of weights; dst: [n] f32. n is a multiple of the block size.
void DequantizeF32(const void* src, float* dst, int64_t n);
void DequantizeF16(const void* src, float* dst, int64_t n);
void DequantizeBF16(const void* src, float* dst, int64_t n);
void DequantizeQ4_0(const void* src, float* dst, int64_t n);
void DequantizeQ4_1(const void* src, float* dst, int64_t n);
void DequantizeQ5_0(const void* src, float* dst, int64_t n);
void DequantizeQ5_1(const void* src, float* dst, int64_t n);
void DequantizeQ8_0(const void* src, float* dst, int64_t n);
void DequantizeQ8_1(const void* src, float* dst, int64_t n);
void DequantizeQ2_K(const void* src, float* dst, int64_t n);
void DequantizeQ3_K(const void* src, float* dst, int64_t n);
void DequantizeQ4_K(const void* src, float* dst, int64_t n);
void DequantizeQ5_K(const void* src, float* dst, int64_t n);
void DequantizeQ6_K(const void* src, float* dst, int64_t n);
void DequantizeQ8_K(const void* src, float* dst, int64_t n);

void QuantizeF32(const float* src, void* dst, int64_t n);
void QuantizeF16(const float* src, void* dst, int64_t n);
void QuantizeBF16(const float* src, void* dst, int64_t n);
void QuantizeQ4_0(const float* src, void* dst, int64_t n);
void QuantizeQ4_1(const float* src, void* dst, int64_t n);
void QuantizeQ5_0(const float* src, void* dst, int64_t n);
void QuantizeQ5_1(const float* src, void* dst, int64_t n);
void QuantizeQ8_0(const float* src, void* dst, int64_t n);
void QuantizeQ8_1(const float* src, void* dst, int64_t n);
void QuantizeQ2_K(const float* src, void* dst, int64_t n);
void QuantizeQ3_K(const float* src, void* dst, int64_t n);
void QuantizeQ4_K(const float* src, void* dst, int64_t n);
void QuantizeQ5_K(const float* src, void* dst, int64_t n);
void QuantizeQ6_K(const float* src, void* dst, int64_t n);
void QuantizeQ8_K(const float* src, void* dst, int64_t n);

// The activation format MatMul quantizes x into for weights of `type` (kF32 for float weights).
DType ActivationType(DType weight_type);

// Dot product of n weights (one row) with n activations in ActivationType(weight type).
float DotF32(int64_t n, const void* w, const void* x);
float DotF16(int64_t n, const void* w, const void* x);
float DotBF16(int64_t n, const void* w, const void* x);
float DotQ4_0(int64_t n, const void* w, const void* x);  // x: Q8_0
float DotQ4_1(int64_t n, const void* w, const void* x);  // x: Q8_1
float DotQ5_0(int64_t n, const void* w, const void* x);  // x: Q8_0
float DotQ5_1(int64_t n, const void* w, const void* x);  // x: Q8_1
float DotQ8_0(int64_t n, const void* w, const void* x);  // x: Q8_0
float DotQ2_K(int64_t n, const void* w, const void* x);  // x: Q8_K
float DotQ3_K(int64_t n, const void* w, const void* x);  // x: Q8_K
float DotQ4_K(int64_t n, const void* w, const void* x);  // x: Q8_K
float DotQ5_K(int64_t n, const void* w, const void* x);  // x: Q8_K
float DotQ6_K(int64_t n, const void* w, const void* x);  // x: Q8_K

// Unpacks the 16 signed 6-bit scales of a Q3_K scales[12] array (values -32..31).
inline void UnpackScalesQ3K(const uint8_t* s, int8_t out[16]) {
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? (s[i] & 0x0f) : (s[i - 8] >> 4);
    const int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    out[i] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

}  // namespace odlm::kernels::ref
