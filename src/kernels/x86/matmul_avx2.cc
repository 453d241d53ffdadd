// kernels/x86/matmul_avx2.cc — the AVX2+FMA+F16C MatMul variant (compiled with those flags only).
#include "kernels/matmul_ops.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define ODLM_X86_VNNI 0
#define ODLM_X86_NS avx2
#define ODLM_X86_NAME "avx2"
#include "kernels/x86/matmul_x86.inc"

namespace odlm::kernels::internal {
const MatMulOps* Avx2Ops(DType type) { return avx2::Ops(type); }
}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulOps* Avx2Ops(DType) { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
