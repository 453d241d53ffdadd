// kernels/x86/vec_ops_avx2.cc — AVX2+FMA+F16C attention row steps (compiled with those flags
// only). Rows of a head_dim that is not a multiple of 8 fall back to the scalar code.
#include "kernels/vec_ops.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

namespace odlm::kernels::internal {
namespace {

inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Up to 256 elements of the row stay in registers-or-L1 as f32, converted once for all heads.
template <typename T>
void Dot(const T* k, const float* q, int nq, int hd, float scale, float* out) {
  if (hd % 8 != 0 || hd > 256) {
    if constexpr (sizeof(T) == 4) {
      ScalarVecOps().dot_f32(k, q, nq, hd, scale, out);
    } else {
      ScalarVecOps().dot_f16(k, q, nq, hd, scale, out);
    }
    return;
  }
  __m256 kv[32];
  for (int e = 0; e < hd / 8; ++e) kv[e] = Load8(k + 8 * e);
  for (int i = 0; i < nq; ++i) {
    const float* qi = q + static_cast<int64_t>(i) * hd;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int e = 0;
    for (; e + 2 <= hd / 8; e += 2) {
      a0 = _mm256_fmadd_ps(kv[e], _mm256_loadu_ps(qi + 8 * e), a0);
      a1 = _mm256_fmadd_ps(kv[e + 1], _mm256_loadu_ps(qi + 8 * e + 8), a1);
    }
    if (e < hd / 8) a0 = _mm256_fmadd_ps(kv[e], _mm256_loadu_ps(qi + 8 * e), a0);
    out[i] = Hsum(_mm256_add_ps(a0, a1)) * scale;
  }
}

template <typename T>
void Axpy(const T* v, const float* p, int64_t ps, int nq, int hd, float* out) {
  if (hd % 8 != 0 || hd > 256) {
    if constexpr (sizeof(T) == 4) {
      ScalarVecOps().axpy_f32(v, p, ps, nq, hd, out);
    } else {
      ScalarVecOps().axpy_f16(v, p, ps, nq, hd, out);
    }
    return;
  }
  __m256 vv[32];
  for (int e = 0; e < hd / 8; ++e) vv[e] = Load8(v + 8 * e);
  for (int i = 0; i < nq; ++i) {
    const __m256 w = _mm256_set1_ps(p[i * ps]);
    float* oi = out + static_cast<int64_t>(i) * hd;
    for (int e = 0; e < hd / 8; ++e)
      _mm256_storeu_ps(oi + 8 * e, _mm256_fmadd_ps(w, vv[e], _mm256_loadu_ps(oi + 8 * e)));
  }
}

// e^x for x in [-87, 88] (clamped there: e^-87 still a normal float, e^88 below FLT_MAX):
// x = k·ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact product), e^r by its degree-7
// Taylor polynomial (remainder < 3e-9 relative), 2^k put into the exponent bits.
inline __m256 Exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.0f), _mm256_min_ps(_mm256_set1_ps(88.0f), x));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187045e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void SiluMul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 den = _mm256_add_ps(one, Exp8(_mm256_sub_ps(_mm256_setzero_ps(), g)));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, den), _mm256_loadu_ps(up + i)));
  }
  if (i < n) ScalarSiluMul(gate + i, up + i, n - i);
}

}  // namespace

SiluMulFn Avx2SiluMul() { return SiluMul; }

const VecOps* Avx2VecOps() {
  static constexpr VecOps kOps{Dot<float>, Dot<uint16_t>, Axpy<float>, Axpy<uint16_t>};
  return &kOps;
}

}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const VecOps* Avx2VecOps() { return nullptr; }
SiluMulFn Avx2SiluMul() { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
