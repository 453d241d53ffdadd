// kernels/matmul_float.h — the f32 products training needs, for weights of any block type.
//
// Training (train/) runs the model's forward and backward passes in f32 arithmetic: a frozen base
// in a quantized block type is dequantized exactly (kernels/quant.h) and multiplied with f32
// activations — no activation quantization — so gradients match a float reference that uses the
// dequantized weights. Three products:
//   MatMulFloat        y  = x · Wᵀ      (forward, like MatMul but exact in f32)
//   MatMulTransposed   dx = dy · W      (backward through a frozen or trainable matrix)
//   AccumulateOuter    dW += dyᵀ · x    (weight gradient of a trainable f32 matrix)
// Quantized weights are dequantized a tile at a time inside each call (no f32 copy of the matrix is
// kept), so a frozen Q4_0 base costs its own bytes in memory plus per-thread tiles.
//
// Determinism: every output element is produced by the same sequence of f32 operations whatever the
// thread count or the split, so results are bit-identical across runs and thread counts for a given
// variant. Variants (scalar reference, AVX2+FMA, AVX-512) are chosen once at first use from
// platform/cpu_features.h (ODLM_CPU caps it) and tested against the reference
// (kernels/matmul_float_test.cc).
// Thread-safety: calls are independent; pool may be nullptr (single-threaded).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/thread_pool.h"
#include "kernels/matmul.h"

namespace odlm::kernels {

// y[t][o] = Σ_i W[o][i]·x[t][i].  x: [n_tokens, w.cols];  y: [n_tokens, w.rows] (overwritten).
// W in any type CanDequantize accepts (CHECKed). x and y must not overlap.
void MatMulFloat(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool* pool);

// dx[t][i] = Σ_o dy[t][o]·W[o][i] (accumulate: dx += …).  dy: [n_tokens, w.rows];
// dx: [n_tokens, w.cols]. dx and dy must not overlap.
void MatMulTransposed(const WeightMatrix& w, const float* dy, int64_t n_tokens, float* dx,
                      bool accumulate, ThreadPool* pool);

// dw[o][i] += Σ_t dy[t][o]·x[t][i].  dy: [n_tokens, n_out];  x: [n_tokens, n_in];
// dw: [n_out, n_in] f32, row stride n_in.
void AccumulateOuter(const float* dy, int64_t n_out, const float* x, int64_t n_in, int64_t n_tokens,
                     float* dw, ThreadPool* pool);

// Which variant the three use on this CPU ("ref", "avx2", "avx512").
std::string_view MatMulFloatVariant();

}  // namespace odlm::kernels
