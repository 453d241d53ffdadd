// kernels/matmul.h — the one entry point the model uses for every weight matrix.
//
// y = x · Wᵀ for a weight matrix W stored in any supported GGUF block type (F32 F16 BF16 Q8_0
// Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K). Float weights are multiplied with f32
// activations. For quantized weights the activation rows are quantized once per call (Q8_0/Q8_1
// blocks for the legacy types, Q8_K for K-quants) and dotted with integer arithmetic per block,
// as llama.cpp does; the per-block results are scaled and summed in f32.
//
// Matrices with an interleaved copy (WeightMatrix::interleaved, made at model load where
// kernels/interleave.h says it pays) run the variant's interleaved kernel at every token count.
// On AVX-512 VNNI machines, other calls with >= 8 tokens (prefill) run a packed GEMM: activations
// are re-laid once per call (16 tokens per register) and each weight row is unpacked once per call,
// and single-token calls (decode) stream the weights with prefetch.
//
// The variant (scalar reference, AVX2, AVX-512 VNNI, …) is chosen once per type at first use from
// platform/cpu_features.h (ODLM_CPU=scalar|avx2 caps it). Every variant is tested against the
// scalar reference (kernels/matmul_conformance_test.cc).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/thread_pool.h"
#include "tensor/dtype.h"

namespace odlm::kernels {

// A weight matrix as stored in a GGUF tensor with dims {cols, rows} (cols fastest-varying).
// The memory is borrowed (typically mmapped); MatMul only reads it.
struct WeightMatrix {
  DType type;
  const void* data;   // [rows] rows of row_bytes each
  int64_t rows;       // n_out
  int64_t cols;       // n_in; a multiple of the type's block size
  int64_t row_bytes;  // stride between rows, >= RowBytes(type, cols)
  // Optional: the same matrix in the 8-row interleaved layout (kernels/interleave.h), or
  // nullptr. When set (only where CanInterleave holds), MatMul reads it instead of `data` if the
  // CPU's variant has a kernel for it; everything else (embedding lookups, training) reads `data`.
  // Borrowed like `data`; must hold exactly the same weights.
  const void* interleaved = nullptr;
};

// y: [n_tokens, rows] f32;  x: [n_tokens, cols] f32;  y[t][o] = sum_i W[o][i] * x[t][i].
// Splits the work over the pool's threads (pool may be nullptr = single-threaded). Deterministic
// for a given thread count and variant. x and y must not overlap. CHECKs that the type is
// supported (IsMatMulSupported) and the shapes are consistent. Keeps thread-local scratch (grown as
// needed, kept between calls) for the quantized activations (n_tokens * RowBytes(vec type, cols))
// and, for the packed GEMM, their re-laid copy (~16 bytes per element per 16-token group) and 8
// unpacked weight rows per worker.
// Thread-safety: concurrent calls are fine with different pools (or nullptr); a pool serializes.
void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool);

// One product of a MatMulMany call: y = x · wᵀ, y: [n_tokens, w->rows] f32.
struct MatMulOutput {
  const WeightMatrix* w;
  float* y;
};

// MatMul for several weight matrices that multiply the same activations x (a layer's Q/K/V, or its
// gate/up projections): every y equals MatMul(*w, x, n_tokens, y, pool) bit for bit. Activations
// are quantized once per activation format instead of once per matrix, and when every matrix runs
// the row-streaming kernel (decode and small batches) all matrices' rows are split across the pool
// in one ParallelFor — one pool wake-up instead of one per matrix. Matrices must share `cols`
// (CHECKed); the y buffers must not overlap x or each other. At most kMaxMatMulOutputs outputs.
inline constexpr int kMaxMatMulOutputs = 8;
void MatMulMany(std::span<const MatMulOutput> outs, const float* x, int64_t n_tokens,
                ThreadPool* pool);

// True for the types MatMul accepts as weights.
bool IsMatMulSupported(DType type);

// Which variant MatMul uses on this CPU for this type ("ref", "avx2", "avx512vnni", …), for logs
// and benchmarks.
std::string_view MatMulVariant(DType type);

}  // namespace odlm::kernels
