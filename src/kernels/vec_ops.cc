// kernels/vec_ops.cc — scalar attention row steps and the variant choice.
#include "kernels/vec_ops.h"

#include <cmath>

#include "base/check.h"
#include "platform/cpu_features.h"
#include "tensor/half.h"

namespace odlm::kernels {
namespace internal {
namespace {

void DotF32(const float* k, const float* q, int nq, int hd, float scale, float* out) {
  for (int i = 0; i < nq; ++i) {
    float s = 0;
    for (int e = 0; e < hd; ++e) s += k[e] * q[i * hd + e];
    out[i] = s * scale;
  }
}

void DotF16(const uint16_t* k, const float* q, int nq, int hd, float scale, float* out) {
  for (int i = 0; i < nq; ++i) {
    float s = 0;
    for (int e = 0; e < hd; ++e) s += HalfToFloat(k[e]) * q[i * hd + e];
    out[i] = s * scale;
  }
}

void AxpyF32(const float* v, const float* p, int64_t ps, int nq, int hd, float* out) {
  for (int i = 0; i < nq; ++i) {
    const float w = p[i * ps];
    for (int e = 0; e < hd; ++e) out[i * hd + e] += w * v[e];
  }
}

void AxpyF16(const uint16_t* v, const float* p, int64_t ps, int nq, int hd, float* out) {
  for (int i = 0; i < nq; ++i) {
    const float w = p[i * ps];
    for (int e = 0; e < hd; ++e) out[i * hd + e] += w * HalfToFloat(v[e]);
  }
}

const VecOps& Selected() {
  static const VecOps* ops = [] {
    const CpuFeatures& f = GetCpuFeatures();
    if (f.avx2 && f.fma && f.f16c && Avx2VecOps() != nullptr) return Avx2VecOps();
    if (f.neon && NeonVecOps() != nullptr) return NeonVecOps();
    return &ScalarVecOps();
  }();
  return *ops;
}

}  // namespace

void ScalarSiluMul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

const VecOps& ScalarVecOps() {
  static constexpr VecOps kOps{DotF32, DotF16, AxpyF32, AxpyF16};
  return kOps;
}

}  // namespace internal

void DotKvRow(DType kv_type, const void* k, const float* q, int nq, int hd, float scale,
              float* out) {
  const internal::VecOps& ops = internal::Selected();
  if (kv_type == DType::kF16) {
    ops.dot_f16(static_cast<const uint16_t*>(k), q, nq, hd, scale, out);
  } else {
    CHECK(kv_type == DType::kF32) << "KV rows are F32 or F16";
    ops.dot_f32(static_cast<const float*>(k), q, nq, hd, scale, out);
  }
}

void SiluMul(float* gate, const float* up, int64_t n) {
  static const internal::SiluMulFn fn = [] {
    const CpuFeatures& f = GetCpuFeatures();
    if (f.avx2 && f.fma && internal::Avx2SiluMul() != nullptr) return internal::Avx2SiluMul();
    return &internal::ScalarSiluMul;
  }();
  fn(gate, up, n);
}

void AxpyKvRow(DType kv_type, const void* v, const float* p, int64_t p_stride, int nq, int hd,
               float* out) {
  const internal::VecOps& ops = internal::Selected();
  if (kv_type == DType::kF16) {
    ops.axpy_f16(static_cast<const uint16_t*>(v), p, p_stride, nq, hd, out);
  } else {
    CHECK(kv_type == DType::kF32) << "KV rows are F32 or F16";
    ops.axpy_f32(static_cast<const float*>(v), p, p_stride, nq, hd, out);
  }
}

}  // namespace odlm::kernels
