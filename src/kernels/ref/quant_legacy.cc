// kernels/ref/quant_legacy.cc — Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: the 32-weight block types.
//
// Quantizers: symmetric types scale by the signed value of largest magnitude so that it lands on
// the most negative code (-8 for Q4_0, -16 for Q5_0: the extra negative code is used, not
// wasted); asymmetric types (_1) map [min, max] onto [0, 2^bits - 1]. Codes are rounded to
// nearest using the scale as stored (after f16 rounding), so decode(encode(x)) is as close as the
// stored scale allows.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref/ref_kernels.h"
#include "tensor/block_layouts.h"
#include "tensor/half.h"

namespace odlm::kernels::ref {
namespace {

constexpr float kHalfMax = 65504.0f;

inline int RoundToInt(float v) { return static_cast<int>(std::nearbyint(v)); }

// Stores `d` as f16 (clamped to the finite range) and returns the value actually stored.
inline float StoreHalf(float d, f16_bits* out) {
  d = std::clamp(d, -kHalfMax, kHalfMax);
  *out = FloatToHalf(d);
  return HalfToFloat(*out);
}

// The element of largest magnitude (signed), 0 for an all-zero block.
inline float SignedMax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// Symmetric codes: q = clamp(round(x / d) + offset, 0, 2*offset - 1).
void EncodeSymmetric(const float* x, int n, float d, int offset, uint8_t* q) {
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i)
    q[i] = static_cast<uint8_t>(std::clamp(RoundToInt(x[i] * id) + offset, 0, 2 * offset - 1));
}

// Asymmetric codes for [min, max] in `levels` steps; stores d and m, fills q.
void EncodeMinMax(const float* x, int n, int levels, f16_bits* d_out, f16_bits* m_out, uint8_t* q) {
  float min = x[0], max = x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  const float m = StoreHalf(min, m_out);
  const float d = StoreHalf((max - m) / levels, d_out);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i)
    q[i] = static_cast<uint8_t>(std::clamp(RoundToInt((x[i] - m) * id), 0, levels));
}

inline void PackNibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j)
    qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
}

inline void PackHighBits(const uint8_t* q, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < 32; ++j) bits |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &bits, 4);
}

// Codes 0..31 of a Q5 block: nibble j / j+16 plus bit j of qh.
inline void UnpackQ5(const uint8_t* qs, const uint8_t* qh_bytes, int q[32]) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    q[j] = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + 16] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}

}  // namespace

// ---- dequantize ------------------------------------------------------------------------------

void DequantizeQ4_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK4_0; ++i, dst += kQK4_0) {
    const float d = HalfToFloat(b[i].d);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * ((b[i].qs[j] & 0x0f) - 8);
      dst[j + 16] = d * ((b[i].qs[j] >> 4) - 8);
    }
  }
}

void DequantizeQ4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK4_1; ++i, dst += kQK4_1) {
    const float d = HalfToFloat(b[i].d), m = HalfToFloat(b[i].m);
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * (b[i].qs[j] & 0x0f) + m;
      dst[j + 16] = d * (b[i].qs[j] >> 4) + m;
    }
  }
}

void DequantizeQ5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK5_0; ++i, dst += kQK5_0) {
    const float d = HalfToFloat(b[i].d);
    int q[32];
    UnpackQ5(b[i].qs, b[i].qh, q);
    for (int j = 0; j < 32; ++j) dst[j] = d * (q[j] - 16);
  }
}

void DequantizeQ5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK5_1; ++i, dst += kQK5_1) {
    const float d = HalfToFloat(b[i].d), m = HalfToFloat(b[i].m);
    int q[32];
    UnpackQ5(b[i].qs, b[i].qh, q);
    for (int j = 0; j < 32; ++j) dst[j] = d * q[j] + m;
  }
}

void DequantizeQ8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK8_0; ++i, dst += kQK8_0) {
    const float d = HalfToFloat(b[i].d);
    for (int j = 0; j < 32; ++j) dst[j] = d * b[i].qs[j];
  }
}

void DequantizeQ8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK8_1; ++i, dst += kQK8_1) {
    const float d = HalfToFloat(b[i].d);
    for (int j = 0; j < 32; ++j) dst[j] = d * b[i].qs[j];
  }
}

// ---- quantize --------------------------------------------------------------------------------

void QuantizeQ4_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK4_0; ++i, src += kQK4_0) {
    const float d = StoreHalf(SignedMax(src, 32) / -8.0f, &b[i].d);
    uint8_t q[32];
    EncodeSymmetric(src, 32, d, 8, q);
    PackNibbles(q, b[i].qs);
  }
}

void QuantizeQ4_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK4_1; ++i, src += kQK4_1) {
    uint8_t q[32];
    EncodeMinMax(src, 32, 15, &b[i].d, &b[i].m, q);
    PackNibbles(q, b[i].qs);
  }
}

void QuantizeQ5_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK5_0; ++i, src += kQK5_0) {
    const float d = StoreHalf(SignedMax(src, 32) / -16.0f, &b[i].d);
    uint8_t q[32];
    EncodeSymmetric(src, 32, d, 16, q);
    PackNibbles(q, b[i].qs);
    PackHighBits(q, b[i].qh);
  }
}

void QuantizeQ5_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK5_1; ++i, src += kQK5_1) {
    uint8_t q[32];
    EncodeMinMax(src, 32, 31, &b[i].d, &b[i].m, q);
    PackNibbles(q, b[i].qs);
    PackHighBits(q, b[i].qh);
  }
}

namespace {
// Q8_0 / Q8_1 codes in [-127, 127] (never -128, so SIMD sign tricks stay exact).
float EncodeQ8(const float* x, f16_bits* d_out, int8_t* qs) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = StoreHalf(amax / 127.0f, d_out);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < 32; ++j)
    qs[j] = static_cast<int8_t>(std::clamp(RoundToInt(x[j] * id), -127, 127));
  return d;
}
}  // namespace

void QuantizeQ8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK8_0; ++i, src += kQK8_0) EncodeQ8(src, &b[i].d, b[i].qs);
}

void QuantizeQ8_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK8_1; ++i, src += kQK8_1) {
    const float d = EncodeQ8(src, &b[i].d, b[i].qs);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += b[i].qs[j];
    StoreHalf(d * static_cast<float>(sum), &b[i].s);
  }
}

// ---- dot products ------------------------------------------------------------------------------

float DotQ4_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += ((a[i].qs[j] & 0x0f) - 8) * b[i].qs[j];
      isum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    }
    sum += HalfToFloat(a[i].d) * HalfToFloat(b[i].d) * static_cast<float>(isum);
  }
  return sum;
}

float DotQ4_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_1*>(w);
  const auto* b = static_cast<const BlockQ8_1*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK4_1; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += (a[i].qs[j] & 0x0f) * b[i].qs[j];
      isum += (a[i].qs[j] >> 4) * b[i].qs[j + 16];
    }
    sum += HalfToFloat(a[i].d) * HalfToFloat(b[i].d) * static_cast<float>(isum) +
           HalfToFloat(a[i].m) * HalfToFloat(b[i].s);
  }
  return sum;
}

float DotQ5_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK5_0; ++i) {
    int q[32];
    UnpackQ5(a[i].qs, a[i].qh, q);
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += (q[j] - 16) * b[i].qs[j];
    sum += HalfToFloat(a[i].d) * HalfToFloat(b[i].d) * static_cast<float>(isum);
  }
  return sum;
}

float DotQ5_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_1*>(w);
  const auto* b = static_cast<const BlockQ8_1*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK5_1; ++i) {
    int q[32];
    UnpackQ5(a[i].qs, a[i].qh, q);
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += q[j] * b[i].qs[j];
    sum += HalfToFloat(a[i].d) * HalfToFloat(b[i].d) * static_cast<float>(isum) +
           HalfToFloat(a[i].m) * HalfToFloat(b[i].s);
  }
  return sum;
}

float DotQ8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += a[i].qs[j] * b[i].qs[j];
    sum += HalfToFloat(a[i].d) * HalfToFloat(b[i].d) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace odlm::kernels::ref
