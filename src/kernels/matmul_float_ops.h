// kernels/matmul_float_ops.h — the per-ISA kernel table behind MatMulFloat, MatMulTransposed and
// AccumulateOuter (internal to kernels/ and its tests).
//
// A variant computes one rectangle of an output matrix; kernels/matmul_float.cc cuts the output
// into rectangles and hands them to threads. Every variant produces each output element by one
// sequential chain of f32 operations over the contraction index, starting at 0 (or at the old
// value when accumulating), in the same order whatever rectangle the element falls in. So results
// are bit-identical for any split, and the driver never reduces across threads. Variants differ
// from each other only by rounding (the reference multiplies then adds; SIMD variants use FMA).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/thread_pool.h"
#include "kernels/matmul.h"

namespace odlm::kernels::internal {

// y[t][r] = Σ_i W[r][i]·x[t][i] for t in [t0, t1), r in [r0, r1).
// x: [*, w.cols];  y: [*, w.rows].
using FloatForwardFn = void (*)(const WeightMatrix& w, const float* x, float* y, int64_t t0,
                                int64_t t1, int64_t r0, int64_t r1, float* scratch);

// dx[t][c] (accumulate ? += : =) Σ_o dy[t][o]·W[o][c] for t in [t0, t1), c in [c0, c1).
// c0 is a multiple of the type's block size, and so is c1 unless it equals w.cols.
// dy: [*, w.rows];  dx: [*, w.cols].
using FloatTransposedFn = void (*)(const WeightMatrix& w, const float* dy, float* dx,
                                   bool accumulate, int64_t t0, int64_t t1, int64_t c0, int64_t c1,
                                   float* scratch);

// dw[o][i] += Σ_t dy[t][o]·x[t][i] for o in [o0, o1), i in [i0, i1), t in [0, n_tokens).
// dy: [n_tokens, n_out];  x: [n_tokens, n_in];  dw: [n_out, n_in].
using FloatOuterFn = void (*)(const float* dy, int64_t n_out, const float* x, int64_t n_in,
                              int64_t n_tokens, float* dw, int64_t o0, int64_t o1, int64_t i0,
                              int64_t i1, float* scratch);

struct MatMulFloatOps {
  std::string_view variant;  // "ref", "avx2", "avx512"
  FloatForwardFn forward;
  FloatTransposedFn transposed;
  FloatOuterFn outer;
  // Output columns (y: weight rows; dx, dw: columns) per register tile: thread splits of the
  // column range are multiples of it (and of the block size for MatMulTransposed).
  int64_t panel;
  // Rows (tokens; AccumulateOuter: dw rows) per thread tile when the columns alone give too few
  // tiles; a multiple of the register tile's row count.
  int64_t row_tile;
  // Scratch each call needs: at least this many floats, 64-byte aligned, private to the thread.
  int64_t scratch_floats;
};

// The scalar reference (kernels/ref/matmul_float_ref.cc): the oracle.
const MatMulFloatOps& RefFloatOps();
// AVX2+FMA+F16C and AVX-512F variants: nullptr when not compiled in (non-x86 build). They do not
// check the CPU: callers must.
const MatMulFloatOps* Avx2FloatOps();
const MatMulFloatOps* Avx512FloatOps();

// Every variant this CPU can run (GetCpuFeatures(), so ODLM_CPU caps it), best last; the
// reference first. Fills up to 3 entries of `out`, returns the count.
int RunnableFloatOps(const MatMulFloatOps* out[3]);

// The three products with an explicit variant (same contracts as kernels/matmul_float.h).
void MatMulFloatWithOps(const MatMulFloatOps& ops, const WeightMatrix& w, const float* x,
                        int64_t n_tokens, float* y, ThreadPool* pool);
void MatMulTransposedWithOps(const MatMulFloatOps& ops, const WeightMatrix& w, const float* dy,
                             int64_t n_tokens, float* dx, bool accumulate, ThreadPool* pool);
void AccumulateOuterWithOps(const MatMulFloatOps& ops, const float* dy, int64_t n_out,
                            const float* x, int64_t n_in, int64_t n_tokens, float* dw,
                            ThreadPool* pool);

}  // namespace odlm::kernels::internal
