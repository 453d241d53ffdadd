// train/backward_ops.cc — backward of RMSNorm, SwiGLU, causal GQA attention; weighted CE.
#include "train/backward_ops.h"

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
                     float* du) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = 1.0f / (1.0f + std::exp(-g[i]));
    const float silu = g[i] * s;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
  }
}

void AttentionBackward(const AttentionShape& sh, int64_t n, const float* q, const float* k,
                       const float* v, const float* d_out, float* dq, float* dk, float* dv,
                       ThreadPool* pool) {
  const int32_t hd = sh.head_dim, group = sh.n_head / sh.n_head_kv;
  const int64_t q_dim = static_cast<int64_t>(sh.n_head) * hd;
  const int64_t kv_dim = static_cast<int64_t>(sh.n_head_kv) * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  auto run = [&](int, int64_t begin, int64_t end) {
    std::vector<float> p(n), dp(n);
    for (int64_t kvh = begin; kvh < end; ++kvh) {
      // This task owns dk/dv of its KV head and dq of its group's query heads.
      for (int64_t j = 0; j < n; ++j) {
        std::fill(dk + j * kv_dim + kvh * hd, dk + j * kv_dim + (kvh + 1) * hd, 0.0f);
        std::fill(dv + j * kv_dim + kvh * hd, dv + j * kv_dim + (kvh + 1) * hd, 0.0f);
      }
      for (int32_t g = 0; g < group; ++g) {
        const int64_t h = kvh * group + g;
        for (int64_t i = 0; i < n; ++i) {
          const float* qi = q + i * q_dim + h * hd;
          const float* doi = d_out + i * q_dim + h * hd;
          const int64_t n_ctx = i + 1;
          // Recompute the probabilities exactly as the forward does (scaled dot, then softmax).
          for (int64_t j = 0; j < n_ctx; ++j) {
            const float* kj = k + j * kv_dim + kvh * hd;
            float s = 0.0f;
            for (int32_t e = 0; e < hd; ++e) s += qi[e] * kj[e];
            p[j] = s * scale;
          }
          SoftmaxInPlace(p.data(), n_ctx);
          double pdp = 0.0;  // Σ_j p_j dp_j
          for (int64_t j = 0; j < n_ctx; ++j) {
            const float* vj = v + j * kv_dim + kvh * hd;
            float s = 0.0f;
            for (int32_t e = 0; e < hd; ++e) s += doi[e] * vj[e];
            dp[j] = s;
            pdp += static_cast<double>(p[j]) * s;
          }
          float* dqi = dq + i * q_dim + h * hd;
          std::fill(dqi, dqi + hd, 0.0f);
          const float pdp_f = static_cast<float>(pdp);
          for (int64_t j = 0; j < n_ctx; ++j) {
            const float ds = p[j] * (dp[j] - pdp_f) * scale;
            const float* kj = k + j * kv_dim + kvh * hd;
            float* dkj = dk + j * kv_dim + kvh * hd;
            float* dvj = dv + j * kv_dim + kvh * hd;
            const float pj = p[j];
            for (int32_t e = 0; e < hd; ++e) {
              dqi[e] += ds * kj[e];
              dkj[e] += ds * qi[e];
              dvj[e] += pj * doi[e];
            }
          }
        }
      }
    }
  };
  if (pool != nullptr && pool->num_threads() > 1 && sh.n_head_kv > 1) {
    pool->ParallelFor(sh.n_head_kv, run);
  } else {
    run(0, 0, sh.n_head_kv);
  }
}

double WeightedCrossEntropy(const float* logits, const int32_t* targets, const float* weights,
                            int64_t n_rows, int64_t n_vocab, double scale, float* dlogits) {
  double total = 0.0;
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = logits + r * n_vocab;
    float max = row[0];
    for (int64_t i = 1; i < n_vocab; ++i) max = std::max(max, row[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(row[i]) - max);
    const double log_z = std::log(sum) + max;
    const double w = weights[r];
    total += w * (log_z - row[targets[r]]);
    if (dlogits != nullptr) {
      float* out = dlogits + r * n_vocab;
      const double f = scale * w;
      const float tgt = row[targets[r]];
      for (int64_t i = 0; i < n_vocab; ++i) {
        out[i] = static_cast<float>(f * std::exp(static_cast<double>(row[i]) - log_z));
      }
      out[targets[r]] = static_cast<float>(f * (std::exp(static_cast<double>(tgt) - log_z) - 1.0));
    }
  }
  return total;
}

}  // namespace odlm::train
