// tensor/block_layouts.h — the byte layouts of GGML quantized blocks, one place for all.
//
// These are file formats: field order and sizes match what GGUF files store, checked by
// static_assert. Scales are IEEE half (uint16_t bits) unless noted. How the bits decode is in
// kernels/ref (the scalar reference for each type).
#pragma once

#include <cstdint>

namespace odlm {

using f16_bits = uint16_t;

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK4_1 = 32;
inline constexpr int kQK5_0 = 32;
inline constexpr int kQK5_1 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK8_1 = 32;
inline constexpr int kQK_K = 256;  // K-quant super-block
inline constexpr int kKScaleSize = 12;

// value = d * (q - 8); weight j in the low nibble of qs[j], weight j+16 in the high nibble.
struct BlockQ4_0 {
  f16_bits d;
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// value = d * q + m.
struct BlockQ4_1 {
  f16_bits d;
  f16_bits m;
  uint8_t qs[kQK4_1 / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// value = d * (q - 16); the 5th bit of weight j is bit j of qh (little-endian u32).
struct BlockQ5_0 {
  f16_bits d;
  uint8_t qh[4];
  uint8_t qs[kQK5_0 / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  f16_bits d;
  f16_bits m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// value = d * q.
struct BlockQ8_0 {
  f16_bits d;
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q8_0 plus s = d * sum(qs), for dot products with types that have a min.
struct BlockQ8_1 {
  f16_bits d;
  f16_bits s;
  int8_t qs[kQK8_1];
};
static_assert(sizeof(BlockQ8_1) == 36);

// 16 sub-blocks of 16; scales[i] low nibble = scale, high nibble = min (4-bit each);
// value = d * sc * q - dmin * m, q in 0..3, four 2-bit weights per byte of qs.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  f16_bits d;
  f16_bits dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 16 sub-blocks of 16 with 6-bit signed scales packed in 12 bytes; low 2 bits in qs, high bit in
// hmask (set bit means +4 on top of the 2 low bits, value = d * (sc - 32) * (q - 4 if bit clear)).
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  f16_bits d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 8 sub-blocks of 32; 6-bit scale and 6-bit min per sub-block packed in 12 bytes;
// value = d * sc * q - dmin * m, q in 0..15.
struct BlockQ4_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q4_K plus a 5th bit per weight in qh.
struct BlockQ5_K {
  f16_bits d;
  f16_bits dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 sub-blocks of 16 with int8 scales; 6-bit weights: low 4 bits in ql, high 2 bits in qh;
// value = d * sc * (q - 32).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  f16_bits d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activation format for K-quant dot products: float scale, int8 weights, sums of each 16.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace odlm
