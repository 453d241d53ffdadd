// kernels/ref/quant_k_search.cc — K-quant encoders: a weighted least-squares fit per sub-block.
//
// Each sub-block (16 or 32 weights) gets its own scale (and, for Q2_K/Q4_K/Q5_K, a non-negative
// "min" subtracted from every weight). We try a small grid of candidate scales; for each the codes
// are rounded, then the scale (and min) that minimize the weighted squared error for those codes
// are solved in closed form, and the best candidate wins. Importance weights favour large weights
// (w = mean(x²) + x²) since those dominate a dot product's error. The sub-block scales are then
// quantized against the super-block scale(s) (6, 4 or 8 bits) and the codes re-rounded with the
// scales as stored, so the encoded block is self-consistent.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref/k_codes.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/block_layouts.h"
#include "tensor/half.h"

namespace odlm::kernels::ref {
namespace {

inline int RoundToInt(float v) { return static_cast<int>(std::nearbyint(v)); }

inline float StoreHalf(float v, f16_bits* out) {
  *out = FloatToHalf(std::clamp(v, -65504.0f, 65504.0f));
  return HalfToFloat(*out);
}

void ImportanceWeights(const float* x, float* w) {
  double s2 = 0;
  for (int e = 0; e < 256; ++e) s2 += static_cast<double>(x[e]) * x[e];
  const float mean2 = static_cast<float>(s2 / 256);
  for (int e = 0; e < 256; ++e) w[e] = mean2 + x[e] * x[e] + 1e-30f;
}

// Asymmetric fit: x ≈ scale * L - min, L in [0, nmax], scale >= 0, min >= 0.
void FitScaleMin(const float* x, const float* w, int n, int nmax, float* scale, float* min) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // the min must be <= 0 (stored as a non-negative offset)
  if (hi <= lo) {
    *scale = 0;
    *min = -lo;
    return;
  }
  float best_err = INFINITY, best_s = (hi - lo) / nmax, best_m = -lo;
  for (int step = -8; step <= 12; ++step) {
    const float iscale = (nmax + 0.1f * step) / (hi - lo);
    double sw = 0, sl = 0, sll = 0, sx = 0, slx = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(RoundToInt((x[i] - lo) * iscale), 0, nmax);
      sw += w[i];
      sl += w[i] * l;
      sll += w[i] * l * l;
      sx += w[i] * x[i];
      slx += w[i] * l * x[i];
    }
    // Minimize sum w (s*l + b - x)^2 with b = -min <= 0.
    const double det = sw * sll - sl * sl;
    if (det <= 0) continue;
    double s = (sw * slx - sl * sx) / det;
    double b = (sll * sx - sl * slx) / det;
    if (b > 0) {  // constrained: b = 0
      b = 0;
      s = sll > 0 ? slx / sll : 0;
    }
    if (s <= 0) continue;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(RoundToInt((x[i] - b) / s), 0, nmax);
      const double r = s * l + b - x[i];
      err += w[i] * r * r;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_s = static_cast<float>(s);
      best_m = static_cast<float>(-b);
    }
  }
  *scale = best_s;
  *min = best_m;
}

// Symmetric fit: x ≈ scale * L, L in [nmin, nmax] (nmin < 0 < nmax). Returns the scale (may be
// negative, which maps the largest-magnitude value onto the longer, negative side of the range).
float FitScale(const float* x, const float* w, int n, int nmin, int nmax) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax == 0) return 0;
  float best_err = INFINITY, best_s = max / nmin;
  for (int side = 0; side < 2; ++side) {
    for (int step = -9; step <= 9; ++step) {
      // side 0: max -> nmin (negative scale); side 1: |max| -> nmax.
      const float target = side == 0 ? nmin + 0.1f * step : nmax + 0.1f * step;
      if (target == 0) continue;
      const float iscale = side == 0 ? target / max : target / amax;
      double slx = 0, sll = 0;
      for (int i = 0; i < n; ++i) {
        const int l = std::clamp(RoundToInt(x[i] * iscale), nmin, nmax);
        slx += w[i] * l * x[i];
        sll += w[i] * l * l;
      }
      if (sll <= 0) continue;
      const double s = slx / sll;
      double err = 0;
      for (int i = 0; i < n; ++i) {
        const int l = std::clamp(RoundToInt(x[i] / s), nmin, nmax);
        const double r = s * l - x[i];
        err += w[i] * r * r;
      }
      if (err < best_err) {
        best_err = static_cast<float>(err);
        best_s = static_cast<float>(s);
      }
    }
  }
  return best_s;
}

// Quantizes non-negative sub-block values v[n] against a super-block scale with `levels` steps.
float QuantizeSubScales(const float* v, int n, int levels, f16_bits* d_out, uint8_t* q) {
  float vmax = 0;
  for (int i = 0; i < n; ++i) vmax = std::max(vmax, v[i]);
  const float d = StoreHalf(vmax / levels, d_out);
  const float id = d > 0 ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i)
    q[i] = static_cast<uint8_t>(std::clamp(RoundToInt(v[i] * id), 0, levels));
  return d;
}

// Asymmetric K types (Q2_K: 16×16, 4-bit scales; Q4_K/Q5_K: 8×32, 6-bit scales).
// Produces d, dmin, the quantized sub-block scales/mins and codes L[256] in [0, nmax].
void EncodeAsymmetric(const float* x, int sub, int nmax, int scale_levels, f16_bits* d_out,
                      f16_bits* dmin_out, uint8_t* sc, uint8_t* mn, uint8_t* L) {
  float w[256], scales[16], mins[16];
  ImportanceWeights(x, w);
  const int n_sub = 256 / sub;
  for (int j = 0; j < n_sub; ++j)
    FitScaleMin(x + sub * j, w + sub * j, sub, nmax, &scales[j], &mins[j]);
  const float d = QuantizeSubScales(scales, n_sub, scale_levels, d_out, sc);
  const float dmin = QuantizeSubScales(mins, n_sub, scale_levels, dmin_out, mn);
  for (int j = 0; j < n_sub; ++j) {
    const float s = d * sc[j], m = dmin * mn[j];
    for (int i = 0; i < sub; ++i) {
      const int e = sub * j + i;
      L[e] = static_cast<uint8_t>(s > 0 ? std::clamp(RoundToInt((x[e] + m) / s), 0, nmax) : 0);
    }
  }
}

}  // namespace

void QuantizeQ2_K(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t sc[16], mn[16], L[256];
    EncodeAsymmetric(src, 16, 3, 15, &b[i].d, &b[i].dmin, sc, mn, L);
    for (int k = 0; k < 16; ++k) b[i].scales[k] = static_cast<uint8_t>(sc[k] | (mn[k] << 4));
    PackCodesQ2K(L, &b[i]);
  }
}

void QuantizeQ4_K(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t sc[8], mn[8], L[256];
    EncodeAsymmetric(src, 32, 15, 63, &b[i].d, &b[i].dmin, sc, mn, L);
    PackScaleMinK4(sc, mn, b[i].scales);
    PackCodesQ4K(L, b[i].qs);
  }
}

void QuantizeQ5_K(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    uint8_t sc[8], mn[8], L[256];
    EncodeAsymmetric(src, 32, 31, 63, &b[i].d, &b[i].dmin, sc, mn, L);
    PackScaleMinK4(sc, mn, b[i].scales);
    PackCodesQ5K(L, &b[i]);
  }
}

void QuantizeQ3_K(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    float w[256], scales[16], amax = 0, max = 0;
    ImportanceWeights(src, w);
    for (int k = 0; k < 16; ++k) {
      scales[k] = FitScale(src + 16 * k, w + 16 * k, 16, -4, 3);
      if (std::fabs(scales[k]) > amax) {
        amax = std::fabs(scales[k]);
        max = scales[k];
      }
    }
    // Sub-block scales in [-32, 31]: the largest-magnitude one maps onto -32.
    const float d = StoreHalf(max / -32.0f, &b[i].d);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    int8_t sc[16], L[256];
    for (int k = 0; k < 16; ++k) {
      sc[k] = static_cast<int8_t>(std::clamp(RoundToInt(scales[k] * id), -32, 31));
      const float s = d * sc[k];
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * k + l;
        L[e] = static_cast<int8_t>(s != 0 ? std::clamp(RoundToInt(src[e] / s), -4, 3) : 0);
      }
    }
    PackScalesQ3K(sc, b[i].scales);
    PackCodesQ3K(L, &b[i]);
  }
}

void QuantizeQ6_K(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, src += kQK_K) {
    float w[256], scales[16], amax = 0, max = 0;
    ImportanceWeights(src, w);
    for (int k = 0; k < 16; ++k) {
      scales[k] = FitScale(src + 16 * k, w + 16 * k, 16, -32, 31);
      if (std::fabs(scales[k]) > amax) {
        amax = std::fabs(scales[k]);
        max = scales[k];
      }
    }
    const float d = StoreHalf(max / -128.0f, &b[i].d);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    uint8_t L[256];
    for (int k = 0; k < 16; ++k) {
      b[i].scales[k] = static_cast<int8_t>(std::clamp(RoundToInt(scales[k] * id), -128, 127));
      const float s = d * b[i].scales[k];
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * k + l;
        L[e] =
            static_cast<uint8_t>((s != 0 ? std::clamp(RoundToInt(src[e] / s), -32, 31) : 0) + 32);
      }
    }
    PackCodesQ6K(L, &b[i]);
  }
}

}  // namespace odlm::kernels::ref
