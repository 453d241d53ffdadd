// kernels/x86/matmul_float_avx512_emu.cc — test-only: the AVX-512 variant's blocking (8 × 32
// register tiles, 16-float vectors) built from pairs of AVX2 registers, so that
// kernels/matmul_float_test.cc exercises x86/matmul_float_x86.inc with the AVX-512 variant's
// shapes on machines without AVX-512 (each lane does the same FMA chain as the real variant).
// Compiled into the test binary only, with AVX2+FMA+F16C flags.
#include "kernels/matmul_float_ops.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <utility>

#include "kernels/quant.h"
#include "kernels/ref/k_scales.h"
#include "tensor/block_layouts.h"

namespace odlm::kernels::internal {
namespace avx512_emu_float {
namespace {

struct Simd {
  struct V {
    __m256 lo, hi;
  };
  static constexpr int kWidth = 16;
  static V Zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static V Load(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static void Store(float* p, V v) {
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
  }
  static V Bcast(const float* p) {
    const __m256 b = _mm256_broadcast_ss(p);
    return {b, b};
  }
  static V Fma(V a, V b, V c) {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
};
constexpr int kMR = 8;
constexpr int kNV = 2;
constexpr std::string_view kName = "avx512_emu";

#include "kernels/x86/matmul_float_x86.inc"

}  // namespace
}  // namespace avx512_emu_float

// The AVX-512 variant's layout on AVX2+FMA+F16C (nullptr when not compiled in). Callers check
// the CPU.
const MatMulFloatOps* Avx512EmuFloatOps() { return &avx512_emu_float::kOps; }

}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulFloatOps* Avx512EmuFloatOps() { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
