// kernels/variants.cc — see variants.h. The conditions mirror each family's own selection
// (RunnableOps, RunnableFloatOps, the vec_ops choice); kernels/variants_test.cc checks that they
// agree.
#include "kernels/variants.h"

#include "kernels/matmul_float_ops.h"
#include "kernels/matmul_ops.h"
#include "kernels/vec_ops.h"
#include "platform/cpu_features.h"

namespace odlm::kernels {
namespace {

// Whether a quantized-product variant is built for any block type.
template <typename Fn>
bool AnyType(Fn ops) {
  for (DType t :
       {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
    if (ops(t) != nullptr) return true;
  }
  return false;
}

}  // namespace

std::vector<KernelVariant> ListKernelVariants() {
  const CpuFeatures& f = GetCpuFeatures();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512_int = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
  std::vector<KernelVariant> v = {
      {"matmul", "avx2", "AVX2 FMA F16C", AnyType(internal::Avx2Ops), avx2},
      {"matmul", "avx512vnni", "AVX2 FMA F16C AVX-512 F/BW/VL/VNNI", AnyType(internal::Avx512Ops),
       avx512_int},
      {"matmul", "neon", "Advanced SIMD", AnyType(internal::NeonOps), f.neon},
      {"matmul", "neon_dotprod", "Advanced SIMD with the dot product",
       AnyType(internal::NeonDotprodOps), f.neon && f.dotprod},
      {"matmul_float", "avx2", "AVX2 FMA F16C", internal::Avx2FloatOps() != nullptr, avx2},
      {"matmul_float", "avx512", "AVX2 FMA F16C AVX-512F", internal::Avx512FloatOps() != nullptr,
       avx2 && f.avx512f},
      {"vec_ops", "avx2", "AVX2 FMA F16C", internal::Avx2VecOps() != nullptr, avx2},
      {"vec_ops", "neon", "Advanced SIMD", internal::NeonVecOps() != nullptr, f.neon},
  };
  for (KernelVariant& k : v) k.runnable = k.runnable && k.compiled;
  return v;
}

}  // namespace odlm::kernels
