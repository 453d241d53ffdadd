// kernels/x86/matmul_avx512.cc — the AVX-512 (F/BW/VL/VNNI) MatMul variant: the x86 tiles with
// vpdpbusd on ymm registers and larger token tiles (compiled with those flags only).
#include "kernels/matmul_ops.h"

#if defined(__x86_64__) && defined(__AVX512VNNI__) && defined(__AVX512VL__) && defined(__AVX512BW__)
#define ODLM_X86_VNNI 1
#define ODLM_X86_NS avx512
#define ODLM_X86_NAME "avx512vnni"
#include "kernels/x86/matmul_x86.inc"

namespace odlm::kernels::internal {
const MatMulOps* Avx512Ops(DType type) { return avx512::Ops(type); }
}  // namespace odlm::kernels::internal
#else
namespace odlm::kernels::internal {
const MatMulOps* Avx512Ops(DType) { return nullptr; }
}  // namespace odlm::kernels::internal
#endif
