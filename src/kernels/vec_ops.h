// kernels/vec_ops.h — the vector steps of attention over a KV cache row (F32 or F16 elements).
//
// One K or V row of a KV head is shared by the `nq` query heads of its group (grouped-query
// attention), so each row is loaded and converted once for all of them. The variant (scalar,
// AVX2+FMA+F16C or AArch64 NEON) is chosen once at first use from platform/cpu_features.h (ODLM_CPU
// caps it). Pure functions, thread-safe, no allocation.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace odlm::kernels {

// out[i] = scale * dot(k, q + i * hd) for i < nq.  k: [hd] of kv_type (kF32 or kF16);
// q: [nq, hd] f32; out: [nq].
void DotKvRow(DType kv_type, const void* k, const float* q, int nq, int hd, float scale,
              float* out);

// out[i * hd + e] += p[i * p_stride] * v[e] for i < nq, e < hd.  v: [hd] of kv_type;
// out: [nq, hd] f32.
void AxpyKvRow(DType kv_type, const void* v, const float* p, int64_t p_stride, int nq, int hd,
               float* out);

// gate[i] = silu(gate[i]) · up[i] = gate[i] / (1 + e^-gate[i]) · up[i] for i < n (SwiGLU). The
// AVX2 variant evaluates e^x with a range reduction and a degree-7 polynomial (relative error
// < 2e-7 against float64, checked by vec_ops_test); the scalar one uses std::exp.
void SiluMul(float* gate, const float* up, int64_t n);

namespace internal {
using SiluMulFn = void (*)(float* gate, const float* up, int64_t n);
void ScalarSiluMul(float* gate, const float* up, int64_t n);
SiluMulFn Avx2SiluMul();  // nullptr when not compiled in; callers check the CPU

struct VecOps {
  void (*dot_f32)(const float* k, const float* q, int nq, int hd, float scale, float* out);
  void (*dot_f16)(const uint16_t* k, const float* q, int nq, int hd, float scale, float* out);
  void (*axpy_f32)(const float* v, const float* p, int64_t ps, int nq, int hd, float* out);
  void (*axpy_f16)(const uint16_t* v, const float* p, int64_t ps, int nq, int hd, float* out);
};
const VecOps& ScalarVecOps();
const VecOps* Avx2VecOps();  // nullptr when not compiled in; callers check the CPU
const VecOps* NeonVecOps();  // AArch64 Advanced SIMD; nullptr when not compiled in
}  // namespace internal

}  // namespace odlm::kernels
