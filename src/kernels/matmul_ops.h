// kernels/matmul_ops.h — the per-type, per-ISA kernel table behind MatMul (internal to kernels/
// and its tests).
//
// A variant supplies, per weight type, a tile function computing y for a range of weight rows ×
// activation rows, with the activations already in the type's activation format (ActType: f32
// for float weights, Q8_0 / Q8_1 / Q8_K for quantized ones; a variant's own activation quantizer
// must be bit-identical to the scalar reference, so every variant sees identical activations). Each
// y element is computed by the same sequence of operations whatever the tile it falls in, so
// results do not depend on how the rows are split across threads.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace odlm::kernels::internal {

// y[t * y_stride + r] = dot(weight row r, activation row t) for r < n_rows, t < n_tokens.
// w: [n_rows] rows of w_stride bytes; x: [n_tokens] rows of x_stride bytes (activation format);
// n: elements per row.
using GemmFn = void (*)(int64_t n, const void* w, int64_t w_stride, const void* x, int64_t x_stride,
                        float* y, int64_t y_stride, int64_t n_rows, int64_t n_tokens);

// Activations of a whole call re-laid for a packed GEMM (see x86/gemm_packed.inc): groups of 16
// tokens, each group_bytes long.
struct PackedAct {
  const uint8_t* base;
  int64_t group_bytes;
  int64_t k;  // elements per row
  int sub;    // weights per sub-block the layout serves (16 or 32)
};
// Packs the activation groups [g0, g1) of x (n_tokens rows of x_stride bytes in act_type format)
// into out (group g at out + g * group_bytes).
using PackActFn = void (*)(DType act_type, int sub, const uint8_t* x, int64_t x_stride,
                           int64_t n_tokens, int64_t k, int64_t g0, int64_t g1, uint8_t* out);
using PackedGroupBytesFn = int64_t (*)(int64_t k, int sub);
// y[t * y_stride + r] for weight rows r < n_rows and every token of `act` (a PackedAct).
using PackedGemmFn = void (*)(int64_t n, const void* w, int64_t w_stride, const void* act, float* y,
                              int64_t y_stride, int64_t n_rows, int64_t n_tokens);

struct MatMulOps {
  std::string_view variant;  // "ref", "avx2", "avx512vnni", "neon", "neon_dotprod"
  DType act_type;            // kF32, kQ8_0, kQ8_1 or kQ8_K
  GemmFn gemm;               // nullptr when `packed` serves every token count
  // Optional packed GEMM, used when n_tokens >= packed_min_tokens (or gemm is nullptr).
  PackedGemmFn packed = nullptr;
  PackActFn pack_act = nullptr;
  PackedGroupBytesFn group_bytes = nullptr;
  int packed_sub = 32;
  int packed_min_tokens = 0;
  // Optional activation quantizer, bit-identical to QuantizeRow(act_type, ...) (faster).
  void (*quantize_act)(const float* src, void* dst, int64_t n) = nullptr;
  // Optional kernel for the 8-row interleaved layout (kernels/interleave.h), used for every token
  // count when the matrix has an interleaved copy: w points at a group start (a row that is a
  // multiple of 8), w_stride is InterleavedGroupBytes (bytes per group of 8 rows) and n_rows a
  // multiple of 8.
  GemmFn gemm_x8 = nullptr;
};

// The scalar reference for `type`, or nullptr if MatMul does not support the type.
const MatMulOps* RefOps(DType type);
// The AVX2+FMA+F16C and AVX-512 (F/BW/VL/VNNI) variants: nullptr when not compiled in (non-x86
// build) or not written for `type`. They do not check the CPU: callers must.
const MatMulOps* Avx2Ops(DType type);
const MatMulOps* Avx512Ops(DType type);
// The AArch64 variants: baseline Advanced SIMD ("neon") and with the ARMv8.2 dot product
// ("neon_dotprod"); nullptr when not compiled in (non-AArch64 build) or not written for `type`.
// They do not check the CPU: callers must.
const MatMulOps* NeonOps(DType type);
const MatMulOps* NeonDotprodOps(DType type);

// Every variant that this CPU can run for `type`, best last (always starts with the reference).
// Fills up to 3 entries of `out`, returns the count.
int RunnableOps(DType type, const MatMulOps* out[3]);

// The variant MatMul uses for `type` on this CPU (chosen once), or nullptr if unsupported.
const MatMulOps* SelectedOpsFor(DType type);

// MatMul with an explicit variant (same contract as kernels::MatMul).
void MatMulWithOps(const MatMulOps& ops, const WeightMatrix& w, const float* x, int64_t n_tokens,
                   float* y, ThreadPool* pool);

}  // namespace odlm::kernels::internal
