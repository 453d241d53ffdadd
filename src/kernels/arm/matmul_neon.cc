// kernels/arm/matmul_neon.cc — the baseline AArch64 Advanced SIMD MatMul variant (every ARMv8-A
// core: int8 dot products by widening multiplies).
#include "kernels/matmul_ops.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#define ODLM_ARM_DOTPROD 0
#define ODLM_ARM_NS neon
#define ODLM_ARM_NAME "neon"
#include "kernels/arm/matmul_neon.inc"

namespace odlm::kernels::internal {
const MatMulOps* NeonOps(DType type) { return neon::Ops(type); }
}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulOps* NeonOps(DType) { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
