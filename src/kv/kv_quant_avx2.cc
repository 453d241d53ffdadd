// kv/kv_quant_avx2.cc — AVX2 + F16C row decoders for compressed KV chunks (see kv_quant_rows.h).
// Compiled with -mavx2 -mf16c on x86-64 only; called only when the CPU has both.
#include <immintrin.h>

#include "kv/kv_quant_rows.h"

namespace odlm::kv_internal {
namespace {

// The 32 codes of one full block (channel order) as bytes.
inline __m256i UnpackBlock(const uint8_t* codes, int bits) {
  if (bits == 8) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes));
  if (bits == 4) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes));
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m), _mm_and_si128(x, m));
  }
  const __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes));
  const __m128i m = _mm_set1_epi8(0x03);
  const __m128i s0 = _mm_and_si128(x, m), s1 = _mm_and_si128(_mm_srli_epi16(x, 2), m);
  const __m128i s2 = _mm_and_si128(_mm_srli_epi16(x, 4), m);
  const __m128i s3 = _mm_and_si128(_mm_srli_epi16(x, 6), m);
  return _mm256_set_m128i(_mm_unpacklo_epi64(s2, s3), _mm_unpacklo_epi64(s0, s1));
}

// out[j] = min_j + scale_j · q_j for 8 channels, stored as F16 or F32.
inline void Store8(__m128i q8, __m256 scale, __m256 min, DType type, uint8_t* out) {
  const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q8));
  const __m256 v = _mm256_add_ps(min, _mm256_mul_ps(scale, q));
  if (type == DType::kF16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  } else {
    _mm256_storeu_ps(reinterpret_cast<float*>(out), v);
  }
}

}  // namespace

void DecodeRowAvx2(const RowParams& p, const uint8_t* codes, int bits, int32_t kv_dim, DType type,
                   uint8_t* out) {
  const int elem = type == DType::kF16 ? 2 : 4;
  const int block_bytes = 32 * bits / 8;
  for (int32_t b = 0; b < kv_dim; b += 32, codes += block_bytes) {
    alignas(32) uint8_t q[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(q), UnpackBlock(codes, bits));
    for (int j = 0; j < 4; ++j) {
      const int32_t ch = b + 8 * j;
      Store8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 8 * j)),
             _mm256_loadu_ps(p.scale + ch), _mm256_loadu_ps(p.min + ch), type, out + ch * elem);
    }
  }
}

}  // namespace odlm::kv_internal
