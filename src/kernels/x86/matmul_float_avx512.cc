// kernels/x86/matmul_float_avx512.cc — the AVX-512F MatMulFloat variant (compiled with those flags
// only): 8 × 32 register tiles (16 accumulators; 2 loads and 8 broadcasts per 16 FMAs, and 8 row
// pointers, which still fit the general registers).
#include "kernels/matmul_float_ops.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

#include <utility>

#include "kernels/quant.h"
#include "kernels/ref/k_scales.h"
#include "tensor/block_layouts.h"

namespace odlm::kernels::internal {
namespace avx512_float {
namespace {

struct Simd {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V Bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};
constexpr int kMR = 8;
constexpr int kNV = 2;
constexpr std::string_view kName = "avx512";

#include "kernels/x86/matmul_float_x86.inc"

}  // namespace
}  // namespace avx512_float

const MatMulFloatOps* Avx512FloatOps() { return &avx512_float::kOps; }

}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulFloatOps* Avx512FloatOps() { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
