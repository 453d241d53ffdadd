// kernels/arm/vec_ops_neon.cc — AArch64 Advanced SIMD attention row steps (baseline ARMv8-A: F16
// rows are converted with FCVTL, which is exact). Rows of a head_dim that is not a multiple of 4,
// or longer than 256, fall back to the scalar code.
#include "kernels/vec_ops.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

namespace odlm::kernels::internal {
namespace {

inline float32x4_t Load4(const float* p) { return vld1q_f32(p); }
inline float32x4_t Load4(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

constexpr int kMaxHeadDim = 256;

// The scalar steps, for rows the vector code does not take.
void ScalarDot(const float* k, const float* q, int nq, int hd, float scale, float* out) {
  ScalarVecOps().dot_f32(k, q, nq, hd, scale, out);
}
void ScalarDot(const uint16_t* k, const float* q, int nq, int hd, float scale, float* out) {
  ScalarVecOps().dot_f16(k, q, nq, hd, scale, out);
}
void ScalarAxpy(const float* v, const float* p, int64_t ps, int nq, int hd, float* out) {
  ScalarVecOps().axpy_f32(v, p, ps, nq, hd, out);
}
void ScalarAxpy(const uint16_t* v, const float* p, int64_t ps, int nq, int hd, float* out) {
  ScalarVecOps().axpy_f16(v, p, ps, nq, hd, out);
}

// The row (up to 256 elements) is converted once into f32 vectors and reused for all nq heads.
template <typename T>
void Dot(const T* k, const float* q, int nq, int hd, float scale, float* out) {
  if (hd % 4 != 0 || hd > kMaxHeadDim) return ScalarDot(k, q, nq, hd, scale, out);
  float32x4_t kv[kMaxHeadDim / 4];  // [hd / 4] f32 lanes of the row
  const int nv = hd / 4;
  for (int e = 0; e < nv; ++e) kv[e] = Load4(k + 4 * e);
  for (int i = 0; i < nq; ++i) {
    const float* qi = q + static_cast<int64_t>(i) * hd;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = vdupq_n_f32(0.0f);
    int e = 0;
    for (; e + 2 <= nv; e += 2) {
      a0 = vfmaq_f32(a0, kv[e], vld1q_f32(qi + 4 * e));
      a1 = vfmaq_f32(a1, kv[e + 1], vld1q_f32(qi + 4 * e + 4));
    }
    if (e < nv) a0 = vfmaq_f32(a0, kv[e], vld1q_f32(qi + 4 * e));
    out[i] = vaddvq_f32(vaddq_f32(a0, a1)) * scale;
  }
}

template <typename T>
void Axpy(const T* v, const float* p, int64_t ps, int nq, int hd, float* out) {
  if (hd % 4 != 0 || hd > kMaxHeadDim) return ScalarAxpy(v, p, ps, nq, hd, out);
  float32x4_t vv[kMaxHeadDim / 4];  // [hd / 4] f32 lanes of the row
  const int nv = hd / 4;
  for (int e = 0; e < nv; ++e) vv[e] = Load4(v + 4 * e);
  for (int i = 0; i < nq; ++i) {
    const float w = p[i * ps];
    float* oi = out + static_cast<int64_t>(i) * hd;
    for (int e = 0; e < nv; ++e)
      vst1q_f32(oi + 4 * e, vfmaq_n_f32(vld1q_f32(oi + 4 * e), vv[e], w));
  }
}

}  // namespace

const VecOps* NeonVecOps() {
  static constexpr VecOps kOps{Dot<float>, Dot<uint16_t>, Axpy<float>, Axpy<uint16_t>};
  return &kOps;
}

}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const VecOps* NeonVecOps() { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
