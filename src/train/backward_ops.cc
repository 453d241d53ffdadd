// train/backward_ops.cc — backward of RMSNorm, SwiGLU, causal GQA attention; weighted CE.
#include "train/backward_ops.h"

#include "kernels/matmul_float.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace odlm::train {

void RmsNormBackward(const float* x, const float* w, const float* dy, int64_t n, float eps,
                     float* dx, float* dw) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  // The forward rounds r to float; use the same value so dw matches x·r·w's derivative exactly.
  const float rf = static_cast<float>(r);
  double dot = 0.0;  // Σ dy·w·x
  for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dy[i]) * w[i] * x[i];
  const double c = dot * r * r * r / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = static_cast<float>(r * dy[i] * w[i] - c * x[i]);
  }
  if (dw != nullptr) {
    for (int64_t i = 0; i < n; ++i) dw[i] += dy[i] * x[i] * rf;
  }
}

void SiluMulBackward(const float* g, const float* u, const float* dh, int64_t n, float* dg,
                     float* du, ThreadPool* pool) {
  auto run = [&](int, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float s = 1.0f / (1.0f + std::exp(-g[i]));
      const float silu = g[i] * s;
      du[i] = dh[i] * silu;
      dg[i] = dh[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
    }
  };
  if (pool != nullptr && n >= 4096) {
    pool->ParallelFor(n, run, 1024);
  } else {
    run(0, 0, n);
  }
}

void RmsNormBackwardRows(const float* x, const int64_t* rows, const float* w, const float* dy,
                         int64_t n_rows, int64_t n, float eps, float* dx, float* dw,
                         ThreadPool* pool) {
  constexpr int64_t kChunk = 16;
  const int64_t n_chunks = (n_rows + kChunk - 1) / kChunk;
  thread_local std::vector<float> partial;  // [n_chunks, n] when dw is wanted
  if (dw != nullptr) partial.assign(static_cast<size_t>(n_chunks * n), 0.0f);
  float* part = dw != nullptr ? partial.data() : nullptr;
  auto run = [&](int, int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t r = c * kChunk; r < std::min(n_rows, (c + 1) * kChunk); ++r) {
        const int64_t src = rows != nullptr ? rows[r] : r;
        RmsNormBackward(x + src * n, w, dy + r * n, n, eps, dx + r * n,
                        part != nullptr ? part + c * n : nullptr);
      }
    }
  };
  if (pool != nullptr && n_chunks > 1) {
    pool->ParallelFor(n_chunks, run);
  } else {
    run(0, 0, n_chunks);
  }
  if (dw == nullptr) return;
  for (int64_t c = 0; c < n_chunks; ++c) {
    for (int64_t i = 0; i < n; ++i) dw[i] += part[c * n + i];
  }
}

void AttentionBackward(const AttentionShape& sh, int64_t n, const float* q, const float* k,
                       const float* v, const float* d_out, float* dq, float* dk, float* dv,
                       ThreadPool* pool) {
  const int32_t hd = sh.head_dim, group = sh.n_head / sh.n_head_kv;
  const int64_t q_dim = static_cast<int64_t>(sh.n_head) * hd;
  const int64_t kv_dim = static_cast<int64_t>(sh.n_head_kv) * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Per head, as dense products (kernels/matmul_float.h) over contiguous [n, hd] copies:
  //   S = Q·Kᵀ (masked causal, scaled), P = softmax rows, dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP)),
  //   dQ = dS·K·scale, dK += dSᵀ·Q·scale, dV += Pᵀ·dO.
  // The full n×n products cost twice the causal half but run at GEMM speed.
  // Scratch kept per thread between calls (large buffers would otherwise be fresh pages each time).
  thread_local std::vector<float> qh, kh, vh, doh, dqh, dkh, dvh, sm, dp;
  for (std::vector<float>* b : {&qh, &kh, &vh, &doh, &dqh, &dkh, &dvh}) b->resize(n * hd);
  sm.resize(n * n);
  dp.resize(n * n);
  auto gather = [&](const float* src, int64_t stride, int64_t offset, float* dst) {
    for (int64_t i = 0; i < n; ++i) std::copy_n(src + i * stride + offset, hd, dst + i * hd);
  };
  auto scatter = [&](const float* src, float* dst, int64_t stride, int64_t offset) {
    for (int64_t i = 0; i < n; ++i) std::copy_n(src + i * hd, hd, dst + i * stride + offset);
  };
  const int64_t row_bytes = hd * static_cast<int64_t>(sizeof(float));
  for (int64_t kvh = 0; kvh < sh.n_head_kv; ++kvh) {
    gather(k, kv_dim, kvh * hd, kh.data());
    gather(v, kv_dim, kvh * hd, vh.data());
    std::fill(dkh.begin(), dkh.end(), 0.0f);
    std::fill(dvh.begin(), dvh.end(), 0.0f);
    const kernels::WeightMatrix km{DType::kF32, kh.data(), n, hd, row_bytes};
    const kernels::WeightMatrix vm{DType::kF32, vh.data(), n, hd, row_bytes};
    for (int32_t g = 0; g < group; ++g) {
      const int64_t h = kvh * group + g;
      gather(q, q_dim, h * hd, qh.data());
      gather(d_out, q_dim, h * hd, doh.data());
      kernels::MatMulFloat(km, qh.data(), n, sm.data(), pool);   // [n, n] q_i·k_j
      kernels::MatMulFloat(vm, doh.data(), n, dp.data(), pool);  // [n, n] do_i·v_j
      // (Pointers, not the thread_local vectors: the lambda runs on other threads too.)
      float* const s_rows = sm.data();
      float* const dp_rows = dp.data();
      auto rows = [&](int, int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          float* row = s_rows + i * n;
          float* dpr = dp_rows + i * n;
          for (int64_t j = 0; j <= i; ++j) row[j] *= scale;
          SoftmaxInPlace(row, i + 1);
          double pdp = 0.0;  // Σ_j p_j dp_j
          for (int64_t j = 0; j <= i; ++j) pdp += static_cast<double>(row[j]) * dpr[j];
          const float pdp_f = static_cast<float>(pdp);
          for (int64_t j = 0; j <= i; ++j) dpr[j] = row[j] * (dpr[j] - pdp_f) * scale;  // dS
          std::fill(row + i + 1, row + n, 0.0f);
          std::fill(dpr + i + 1, dpr + n, 0.0f);
        }
      };
      if (pool != nullptr && n >= 32) {
        pool->ParallelFor(n, rows, 8);
      } else {
        rows(0, 0, n);
      }
      kernels::MatMulTransposed(km, dp.data(), n, dqh.data(), false, pool);         // dS·K
      kernels::AccumulateOuter(dp.data(), n, qh.data(), hd, n, dkh.data(), pool);   // dSᵀ·Q
      kernels::AccumulateOuter(sm.data(), n, doh.data(), hd, n, dvh.data(), pool);  // Pᵀ·dO
      scatter(dqh.data(), dq, q_dim, h * hd);
    }
    scatter(dkh.data(), dk, kv_dim, kvh * hd);
    scatter(dvh.data(), dv, kv_dim, kvh * hd);
  }
}

double WeightedCrossEntropy(const float* logits, const int32_t* targets, const float* weights,
                            int64_t n_rows, int64_t n_vocab, double scale, float* dlogits,
                            ThreadPool* pool) {
  thread_local std::vector<double> row_loss;
  row_loss.assign(static_cast<size_t>(n_rows), 0.0);
  double* losses = row_loss.data();
  auto run = [&](int, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = logits + r * n_vocab;
      float max = row[0];
      for (int64_t i = 1; i < n_vocab; ++i) max = std::max(max, row[i]);
      double sum = 0.0;
      for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(row[i]) - max);
      const double log_z = std::log(sum) + max;
      const double w = weights[r];
      const float tgt = row[targets[r]];
      losses[r] = w * (log_z - tgt);
      if (dlogits == nullptr) continue;
      float* out = dlogits + r * n_vocab;
      const double f = scale * w;
      for (int64_t i = 0; i < n_vocab; ++i) {
        out[i] = static_cast<float>(f * std::exp(static_cast<double>(row[i]) - log_z));
      }
      out[targets[r]] = static_cast<float>(f * (std::exp(static_cast<double>(tgt) - log_z) - 1.0));
    }
  };
  if (pool != nullptr && n_rows > 1) {
    pool->ParallelFor(n_rows, run);
  } else {
    run(0, 0, n_rows);
  }
  double total = 0.0;
  for (int64_t r = 0; r < n_rows; ++r) total += losses[r];
  return total;
}

}  // namespace odlm::train
