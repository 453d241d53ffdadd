// kernels/ref/quant_k.cc — K-quants (Q2_K … Q6_K, Q8_K): decoding, Q8_K encoding and the
// reference dot products with Q8_K activations.
//
// The dots keep the structure the SIMD variants use: an exact integer sum per sub-block times its
// integer scale, summed per super-block in int32, then scaled by the f16 super-block scales and
// the activation's f32 scale. The "min" part of Q2_K/Q4_K/Q5_K uses the activation's per-16 sums
// (bsums), so it costs 8-16 multiplies per super-block instead of 256.
#include <algorithm>
#include <cmath>

#include "kernels/ref/k_codes.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/block_layouts.h"
#include "tensor/half.h"

namespace odlm::kernels::ref {

// ---- dequantize ------------------------------------------------------------------------------

void DequantizeQ2_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = HalfToFloat(b[i].d), dmin = HalfToFloat(b[i].dmin);
    int q[256];
    UnpackCodesQ2K(b[i], q);
    for (int e = 0; e < 256; ++e) {
      const uint8_t s = b[i].scales[e / 16];
      dst[e] = d * (s & 0x0f) * q[e] - dmin * (s >> 4);
    }
  }
}

void DequantizeQ3_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = HalfToFloat(b[i].d);
    int8_t sc[16];
    UnpackScalesQ3K(b[i].scales, sc);
    int q[256];
    UnpackCodesQ3K(b[i], q);
    for (int e = 0; e < 256; ++e) dst[e] = d * sc[e / 16] * q[e];
  }
}

void DequantizeQ4_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = HalfToFloat(b[i].d), dmin = HalfToFloat(b[i].dmin);
    int q[256];
    UnpackCodesQ4K(b[i].qs, q);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      UnpackScaleMinK4(b[i].scales, j, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      for (int l = 0; l < 32; ++l) dst[32 * j + l] = ds * q[32 * j + l] - dm;
    }
  }
}

void DequantizeQ5_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = HalfToFloat(b[i].d), dmin = HalfToFloat(b[i].dmin);
    int q[256];
    UnpackCodesQ5K(b[i], q);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      UnpackScaleMinK4(b[i].scales, j, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      for (int l = 0; l < 32; ++l) dst[32 * j + l] = ds * q[32 * j + l] - dm;
    }
  }
}

void DequantizeQ6_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = HalfToFloat(b[i].d);
    int q[256];
    UnpackCodesQ6K(b[i], q);
    for (int e = 0; e < 256; ++e) dst[e] = d * b[i].scales[e / 16] * (q[e] - 32);
  }
}

void DequantizeQ8_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    for (int e = 0; e < 256; ++e) dst[e] = b[i].d * b[i].qs[e];
  }
}

// ---- Q8_K (activations) ----------------------------------------------------------------------

void QuantizeQ8_K(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    float amax = 0;
    for (int e = 0; e < 256; ++e) amax = std::max(amax, std::fabs(src[e]));
    // Codes stay in [-127, 127] so SIMD sign tricks (|x|, sign(y, x)) are exact.
    b[i].d = amax / 127.0f;
    // A denormal amax makes 127 / amax overflow to inf (and 0 * inf = NaN): such a block is zero.
    const float inv = amax != 0 ? 127.0f / amax : 0.0f;
    const float id = std::isfinite(inv) ? inv : 0.0f;
    for (int e = 0; e < 256; ++e) {
      b[i].qs[e] =
          static_cast<int8_t>(std::clamp(static_cast<int>(std::nearbyint(src[e] * id)), -127, 127));
    }
    for (int k = 0; k < 16; ++k) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += b[i].qs[16 * k + l];
      b[i].bsums[k] = static_cast<int16_t>(s);
    }
  }
}

// ---- dot products ------------------------------------------------------------------------------

float DotQ2_K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ2_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[256];
    UnpackCodesQ2K(a[i], q);
    int sumi = 0, summ = 0;
    for (int k = 0; k < 16; ++k) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += q[16 * k + l] * b[i].qs[16 * k + l];
      sumi += (a[i].scales[k] & 0x0f) * s;
      summ += (a[i].scales[k] >> 4) * b[i].bsums[k];
    }
    sum += b[i].d * (HalfToFloat(a[i].d) * sumi - HalfToFloat(a[i].dmin) * summ);
  }
  return sum;
}

float DotQ3_K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ3_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[256];
    UnpackCodesQ3K(a[i], q);
    int8_t sc[16];
    UnpackScalesQ3K(a[i].scales, sc);
    int sumi = 0;
    for (int k = 0; k < 16; ++k) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += q[16 * k + l] * b[i].qs[16 * k + l];
      sumi += sc[k] * s;
    }
    sum += b[i].d * HalfToFloat(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

namespace {
// Shared by Q4_K and Q5_K: codes q (0..15 or 0..31), 6-bit scales and mins.
float DotK4Like(const int q[256], const uint8_t* scales, float d, float dmin, const BlockQ8_K& y) {
  int sumi = 0, summ = 0;
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    UnpackScaleMinK4(scales, j, &sc, &m);
    int s = 0;
    for (int l = 0; l < 32; ++l) s += q[32 * j + l] * y.qs[32 * j + l];
    sumi += sc * s;
    summ += m * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
  }
  return y.d * (d * static_cast<float>(sumi) - dmin * static_cast<float>(summ));
}
}  // namespace

float DotQ4_K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[256];
    UnpackCodesQ4K(a[i].qs, q);
    sum += DotK4Like(q, a[i].scales, HalfToFloat(a[i].d), HalfToFloat(a[i].dmin), b[i]);
  }
  return sum;
}

float DotQ5_K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[256];
    UnpackCodesQ5K(a[i], q);
    sum += DotK4Like(q, a[i].scales, HalfToFloat(a[i].d), HalfToFloat(a[i].dmin), b[i]);
  }
  return sum;
}

float DotQ6_K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ6_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[256];
    UnpackCodesQ6K(a[i], q);
    int sumi = 0;
    for (int k = 0; k < 16; ++k) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += (q[16 * k + l] - 32) * b[i].qs[16 * k + l];
      sumi += a[i].scales[k] * s;
    }
    sum += b[i].d * HalfToFloat(a[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

}  // namespace odlm::kernels::ref
