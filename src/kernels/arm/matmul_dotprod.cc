// kernels/arm/matmul_dotprod.cc — the AArch64 MatMul variant with the ARMv8.2 dot product (SDOT;
// this file alone is compiled with +dotprod, callers check HWCAP_ASIMDDP first).
#include "kernels/matmul_ops.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#define ODLM_ARM_DOTPROD 1
#define ODLM_ARM_NS dotprod
#define ODLM_ARM_NAME "neon_dotprod"
#include "kernels/arm/matmul_neon.inc"

namespace odlm::kernels::internal {
const MatMulOps* NeonDotprodOps(DType type) { return dotprod::Ops(type); }
}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulOps* NeonDotprodOps(DType) { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
