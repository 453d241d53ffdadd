// train/backward_ops.h — the backward of each per-token operation of model/'s forward pass, and the
// role-weighted cross-entropy loss.
//
// Each function takes what the forward saw (inputs, saved activations) and the gradient of the
// loss with respect to the forward's output, and produces gradients of its inputs (accumulated
// where noted). Sums over many elements accumulate in double, so results are deterministic and
// independent of threading. Checked against float64 finite differences in backward_ops_test.cc.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "model/ops.h"

namespace odlm::train {

// y = RmsNorm(x, w) (model/ops.h) for one row of n. Given dy: dx (overwritten) and dw += ….
// dw may be nullptr (frozen norm).  x, dy, dx: [n]; w, dw: [n].
void RmsNormBackward(const float* x, const float* w, const float* dy, int64_t n, float eps,
                     float* dx, float* dw);

// RmsNormBackward over n_rows rows of n (row r: x + r·x_stride, dy + r·n, dx + r·n), split over
// the pool. dw (may be nullptr) gets the rows' sum: partial sums over fixed 16-row chunks, added in
// chunk order, so the result does not depend on the thread count. x_stride lets the rows be a
// gathered subset (pass row indices in `rows`, or nullptr for rows 0..n_rows-1).
void RmsNormBackwardRows(const float* x, const int64_t* rows, const float* w, const float* dy,
                         int64_t n_rows, int64_t n, float eps, float* dx, float* dw,
                         ThreadPool* pool);

// h = silu(g)·u (SiluMul). Given dh: dg and du (overwritten). [n] each. Split over the pool (may
// be nullptr); element-wise, so the split cannot change results.
void SiluMulBackward(const float* g, const float* u, const float* dh, int64_t n, float* dg,
                     float* du, ThreadPool* pool = nullptr);

// Causal grouped-query attention of one sequence, as LlamaModel::Attention computes it:
//   s_ij = q_i·k_j / √hd (j ≤ i), p_i = softmax(s_i), o_i = Σ_j p_ij v_j,
// per query head h reading KV head h / (n_head / n_head_kv). Given do: dq (overwritten), dk and dv
// (overwritten). Probabilities are recomputed from q and k; per head two n×n f32 scratch
// matrices are used (not kept), the products running on kernels/matmul_float.h.
// q, dq, d_out: [n, n_head·hd];  k, v, dk, dv: [n, n_head_kv·hd]. Threads split each product.
struct AttentionShape {
  int32_t n_head, n_head_kv, head_dim;
};
void AttentionBackward(const AttentionShape& shape, int64_t n, const float* q, const float* k,
                       const float* v, const float* d_out, float* dq, float* dk, float* dv,
                       ThreadPool* pool);

// Role-weighted cross-entropy of rows of logits (one row per predicting position):
//   loss_r = −log softmax(logits_r)[target_r];  returns Σ_r weight_r · loss_r (in double).
// When dlogits is not null, writes dlogits_r = scale · weight_r · (softmax(logits_r) − onehot).
// logits, dlogits: [n_rows, n_vocab] (may alias: computed in place).
// Rows run in parallel on the pool (may be nullptr); the per-row losses are summed in row order.
double WeightedCrossEntropy(const float* logits, const int32_t* targets, const float* weights,
                            int64_t n_rows, int64_t n_vocab, double scale, float* dlogits,
                            ThreadPool* pool = nullptr);

}  // namespace odlm::train
