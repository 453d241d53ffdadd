// kernels/x86/matmul_float_avx2.cc — the AVX2+FMA MatMulFloat variant (compiled with those flags
// only): 6 × 16 register tiles (12 accumulators; 2 loads and 6 broadcasts per 12 FMAs).
#include "kernels/matmul_float_ops.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <utility>

#include "kernels/quant.h"
#include "kernels/ref/k_scales.h"
#include "tensor/block_layouts.h"

namespace odlm::kernels::internal {
namespace avx2_float {
namespace {

struct Simd {
  using V = __m256;
  static constexpr int kWidth = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V Bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
};
constexpr int kMR = 6;
constexpr int kNV = 2;
constexpr std::string_view kName = "avx2";

#include "kernels/x86/matmul_float_x86.inc"

}  // namespace
}  // namespace avx2_float

const MatMulFloatOps* Avx2FloatOps() { return &avx2_float::kOps; }

}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulFloatOps* Avx2FloatOps() { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
