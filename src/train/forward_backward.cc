// train/forward_backward.cc — model/'s forward with recorded activations, then the reverse walk.
#include "train/forward_backward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/matmul_float.h"
#include "train/backward_ops.h"

namespace odlm::train {
namespace {

void AddInto(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

void AddRowsInto(float* bias_grad, const float* rows, int64_t n_rows, int64_t n) {
  if (bias_grad == nullptr) return;
  for (int64_t t = 0; t < n_rows; ++t) AddInto(bias_grad, rows + t * n, n);
}

void Scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace

StatusOr<LossSum> ForwardBackward::Run(const std::vector<TrainSequence>& batch, double weight_total,
                                       const ForwardBackwardOptions& options, ThreadPool* pool) {
  LlamaModel& model = tm_->model();
  const ModelConfig& c = model.config();
  const int64_t d = c.n_embd, kvd = c.kv_dim();
  if (batch.empty()) return InvalidArgumentError("an empty training batch");
  const bool backward = options.backward;
  if (backward && !(weight_total > 0)) {
    return InvalidArgumentError("the batch's loss weights sum to zero: nothing to train on");
  }

  // One contiguous f32 KV cache per sequence (K then V, each [n_layer, n, kv_dim]).
  const size_t n_seq = batch.size();
  kv_.resize(n_seq);
  views_.resize(n_seq);
  seq_start_.resize(n_seq);
  std::vector<SequenceStep> steps(n_seq);
  int64_t T = 0;
  for (size_t s = 0; s < n_seq; ++s) {
    const TrainSequence& seq = batch[s];
    if (seq.n <= 0 || seq.tokens == nullptr || seq.weights == nullptr) {
      return InvalidArgumentError("sequence " + std::to_string(s) + " of the batch is empty");
    }
    const int64_t per = static_cast<int64_t>(c.n_layer) * seq.n * kvd;
    kv_[s].resize(static_cast<size_t>(2 * per));
    KvCacheView& v = views_[s];
    v = KvCacheView();
    v.type = DType::kF32;
    v.n_layer = c.n_layer;
    v.kv_dim = c.kv_dim();
    v.chunk_tokens = seq.n;
    v.n_chunks = 1;
    v.n_past = 0;
    for (int32_t l = 0; l < c.n_layer; ++l) {
      v.k_chunks.push_back(kv_[s].data() + l * seq.n * kvd);
      v.v_chunks.push_back(kv_[s].data() + per + l * seq.n * kvd);
    }
    steps[s] = SequenceStep{seq.tokens, seq.n, &v, false, tm_->active()};
    seq_start_[s] = static_cast<int32_t>(T);
    T += seq.n;
  }
  RETURN_IF_ERROR(model.BeginForward(steps));

  if (backward) {
    if (options.checkpoint) {
      layer_in_.resize(c.n_layer);
      saved_.resize(1);
    } else {
      saved_.resize(c.n_layer);
    }
  }
  for (int32_t l = 0; l < c.n_layer; ++l) {
    LayerActivations* rec = nullptr;
    if (backward && options.checkpoint) {
      layer_in_[l].assign(model.residual(), model.residual() + T * d);
    } else if (backward) {
      rec = &saved_[l];
    }
    model.ForwardLayer(steps, l, pool, rec);
  }

  // The head, on the rows whose next token carries loss.
  const ModelWeights& mw = *model.mutable_weights();
  const GradTargets& g = tm_->grads();
  std::vector<int64_t> rows;
  std::vector<int32_t> targets;
  std::vector<float> weights;
  for (size_t s = 0; s < n_seq; ++s) {
    const TrainSequence& seq = batch[s];
    for (int32_t i = 0; i + 1 < seq.n; ++i) {
      const float w = seq.weights[i + 1];
      if (!(w >= 0.0f) || !std::isfinite(w)) {
        return InvalidArgumentError("sequence " + std::to_string(s) + ": loss weight of token " +
                                    std::to_string(i + 1) + " is negative or not finite");
      }
      if (w == 0.0f) continue;
      rows.push_back(seq_start_[s] + i);
      targets.push_back(seq.tokens[i + 1]);
      weights.push_back(w);
    }
  }
  LossSum sum;
  sum.tokens = T;
  for (float w : weights) sum.weight += w;
  const float* x_final = model.residual();  // [T, d] (stays valid until backward overwrites it)
  if (backward) {
    final_x_.assign(x_final, x_final + T * d);
    x_final = final_x_.data();
    dx_.assign(static_cast<size_t>(T * d), 0.0f);
  }
  const int64_t chunk = std::max<int32_t>(1, options.logit_rows);
  std::vector<float>& f = head_f_;
  std::vector<float>& logits = head_logits_;
  std::vector<float>& df = head_df_;
  const double scale = backward ? 1.0 / weight_total : 0.0;
  for (size_t r0 = 0; r0 < rows.size(); r0 += chunk) {
    const int64_t nr = std::min<int64_t>(chunk, static_cast<int64_t>(rows.size() - r0));
    f.resize(nr * d);
    for (int64_t r = 0; r < nr; ++r) {
      RmsNorm(x_final + rows[r0 + r] * d, mw.output_norm.data(), d, c.norm_eps, &f[r * d]);
    }
    logits.resize(nr * c.n_vocab);
    model.Product(mw.output, f.data(), nr, logits.data(), pool);
    sum.weighted_loss +=
        WeightedCrossEntropy(logits.data(), &targets[r0], &weights[r0], nr, c.n_vocab, scale,
                             backward ? logits.data() : nullptr, pool);
    if (!backward) continue;
    df.resize(nr * d);
    BackwardThrough(mw.output, logits.data(), nr, df.data(), false, pool);
    if (g.output != nullptr) {
      kernels::AccumulateOuter(logits.data(), c.n_vocab, f.data(), d, nr, g.output, pool);
    }
    head_dx_.resize(nr * d);
    RmsNormBackwardRows(x_final, &rows[r0], mw.output_norm.data(), df.data(), nr, d, c.norm_eps,
                        head_dx_.data(), g.output_norm, pool);
    for (int64_t r = 0; r < nr; ++r) {
      std::copy_n(&head_dx_[r * d], d, &dx_[rows[r0 + r] * d]);
    }
  }
  if (!backward) return sum;

  for (int32_t l = c.n_layer - 1; l >= 0; --l) {
    const LayerActivations* a = &saved_[options.checkpoint ? 0 : l];
    if (options.checkpoint) {
      std::memcpy(model.residual(), layer_in_[l].data(), sizeof(float) * T * d);
      model.ForwardLayer(steps, l, pool, &saved_[0]);
    }
    LayerBackward(l, *a, dx_.data(), pool);
  }
  if (g.token_embd != nullptr) {
    for (size_t s = 0; s < n_seq; ++s) {
      for (int32_t i = 0; i < batch[s].n; ++i) {
        const int64_t t = seq_start_[s] + i;
        AddInto(g.token_embd + static_cast<int64_t>(batch[s].tokens[i]) * d, &dx_[t * d], d);
      }
    }
  }
  return sum;
}

void ForwardBackward::BackwardThrough(const kernels::WeightMatrix& w, const float* dy,
                                      int64_t n_tokens, float* dx, bool accumulate,
                                      ThreadPool* pool) {
  const kernels::WeightMatrix* wt = tm_->TransposedBase(w);
  if (wt == nullptr) {
    kernels::MatMulTransposed(w, dy, n_tokens, dx, accumulate, pool);
    return;
  }
  if (!accumulate) {
    kernels::MatMul(*wt, dy, n_tokens, dx, pool);
    return;
  }
  through_.resize(n_tokens * w.cols);  // [T, cols]
  kernels::MatMul(*wt, dy, n_tokens, through_.data(), pool);
  AddInto(dx, through_.data(), n_tokens * w.cols);
}

void ForwardBackward::ProjectionBackward(int32_t layer, int target, const kernels::WeightMatrix& w,
                                         const float* x, int64_t n_in, const float* dy,
                                         int64_t n_out, float* dx, bool accumulate,
                                         ThreadPool* pool) {
  const int64_t T = static_cast<int64_t>(dx_.size()) / tm_->config().n_embd;
  BackwardThrough(w, dy, T, dx, accumulate, pool);
  const LayerGrads& lg = tm_->grads().layers[layer];
  if (lg.w[target] != nullptr) kernels::AccumulateOuter(dy, n_out, x, n_in, T, lg.w[target], pool);
  const LoraGrad& lo = lg.lora[target];
  if (lo.pair == nullptr) return;
  const LoraPair& p = *lo.pair;
  const int64_t r = p.rank;
  CHECK_EQ(p.n_in, n_in);
  CHECK_EQ(p.n_out, n_out);
  const kernels::WeightMatrix a{DType::kF32, p.a.data(), r, n_in,
                                n_in * static_cast<int64_t>(sizeof(float))};
  const kernels::WeightMatrix b{DType::kF32, p.b.data(), n_out, r,
                                r * static_cast<int64_t>(sizeof(float))};
  // LoRA dropout: the branch saw x∘mask/(1−p); the same masks again (a pure function of the seed).
  const ActiveLora& active = tm_->active()[0];
  const bool dropout = active.dropout > 0.0f;
  const float* xa = x;
  if (dropout) {
    xd_.resize(T * n_in);  // [T, n_in]
    for (int64_t t = 0; t < T; ++t) {
      LoraDropout(active.dropout, active.dropout_seed, layer, static_cast<LoraTarget>(target), t,
                  x + t * n_in, n_in, &xd_[t * n_in]);
    }
    xa = xd_.data();
  }
  u_.resize(T * r);  // [T, r] s·A·x
  kernels::MatMulFloat(a, xa, T, u_.data(), pool);
  Scale(u_.data(), T * r, lo.scaling);
  kernels::AccumulateOuter(dy, n_out, u_.data(), r, T, lo.db, pool);
  du_.resize(T * r);  // [T, r] s·Bᵀ·dy
  kernels::MatMulTransposed(b, dy, T, du_.data(), false, pool);
  Scale(du_.data(), T * r, lo.scaling);
  kernels::AccumulateOuter(du_.data(), r, xa, n_in, T, lo.da, pool);
  if (!dropout) {
    kernels::MatMulTransposed(a, du_.data(), T, dx, true, pool);
    return;
  }
  kernels::MatMulTransposed(a, du_.data(), T, xd_.data(), false, pool);
  for (int64_t t = 0; t < T; ++t) {
    float* row = &xd_[t * n_in];
    LoraDropout(active.dropout, active.dropout_seed, layer, static_cast<LoraTarget>(target), t, row,
                n_in, row);
    for (int64_t i = 0; i < n_in; ++i) dx[t * n_in + i] += row[i];
  }
}

void ForwardBackward::LayerBackward(int32_t l, const LayerActivations& a, float* dx,
                                    ThreadPool* pool) {
  LlamaModel& model = tm_->model();
  const ModelConfig& c = model.config();
  const int64_t d = c.n_embd, ff = c.n_ff, qd = c.q_dim(), kvd = c.kv_dim();
  const int64_t T = static_cast<int64_t>(dx_.size()) / d;
  const LayerWeights& w = model.mutable_weights()->layers[l];
  const LayerGrads& lg = tm_->grads().layers[l];
  d_ff_.resize(T * ff);
  d_gate_.resize(T * ff);
  d_up_.resize(T * ff);
  d_xb_.resize(T * d);
  tmp_.resize(T * d);
  d_attn_.resize(T * qd);
  dq_.resize(T * qd);
  dk_.resize(T * kvd);
  dv_.resize(T * kvd);

  // FFN: x_out = x_mid + down(silu(gate(xb))·up(xb)), xb = norm(x_mid).
  ProjectionBackward(l, static_cast<int>(LoraTarget::kFfnDown), w.w_down, a.act.data(), ff, dx, d,
                     d_ff_.data(), false, pool);
  SiluMulBackward(a.gate.data(), a.up.data(), d_ff_.data(), T * ff, d_gate_.data(), d_up_.data(),
                  pool);
  ProjectionBackward(l, static_cast<int>(LoraTarget::kFfnGate), w.w_gate, a.xb_ffn.data(), d,
                     d_gate_.data(), ff, d_xb_.data(), false, pool);
  ProjectionBackward(l, static_cast<int>(LoraTarget::kFfnUp), w.w_up, a.xb_ffn.data(), d,
                     d_up_.data(), ff, d_xb_.data(), true, pool);
  RmsNormBackwardRows(a.x_mid.data(), nullptr, w.ffn_norm.data(), d_xb_.data(), T, d, c.norm_eps,
                      tmp_.data(), lg.ffn_norm, pool);
  AddInto(dx, tmp_.data(), T * d);  // dx is now d x_mid

  // Attention: x_mid = x_in + o(attn(rope(q(xb)), rope(k(xb)), v(xb))), xb = norm(x_in).
  ProjectionBackward(l, static_cast<int>(LoraTarget::kAttnOutput), w.wo, a.attn.data(), qd, dx, d,
                     d_attn_.data(), false, pool);
  const AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim};
  for (size_t s = 0; s < seq_start_.size(); ++s) {
    const int64_t r0 = seq_start_[s];
    const int64_t n = (s + 1 < seq_start_.size() ? seq_start_[s + 1] : T) - r0;
    AttentionBackward(shape, n, &a.q[r0 * qd], &a.k[r0 * kvd], &a.v[r0 * kvd], &d_attn_[r0 * qd],
                      &dq_[r0 * qd], &dk_[r0 * kvd], &dv_[r0 * kvd], pool);
    for (int64_t i = 0; i < n; ++i) {
      model.rope().ApplyInverse(&dq_[(r0 + i) * qd], c.n_head, i);
      model.rope().ApplyInverse(&dk_[(r0 + i) * kvd], c.n_head_kv, i);
    }
  }
  AddRowsInto(lg.bq, dq_.data(), T, qd);
  AddRowsInto(lg.bk, dk_.data(), T, kvd);
  AddRowsInto(lg.bv, dv_.data(), T, kvd);
  ProjectionBackward(l, static_cast<int>(LoraTarget::kAttnQ), w.wq, a.xb_attn.data(), d, dq_.data(),
                     qd, d_xb_.data(), false, pool);
  ProjectionBackward(l, static_cast<int>(LoraTarget::kAttnK), w.wk, a.xb_attn.data(), d, dk_.data(),
                     kvd, d_xb_.data(), true, pool);
  ProjectionBackward(l, static_cast<int>(LoraTarget::kAttnV), w.wv, a.xb_attn.data(), d, dv_.data(),
                     kvd, d_xb_.data(), true, pool);
  RmsNormBackwardRows(a.x_in.data(), nullptr, w.attn_norm.data(), d_xb_.data(), T, d, c.norm_eps,
                      tmp_.data(), lg.attn_norm, pool);
  AddInto(dx, tmp_.data(), T * d);  // dx is now d x_in
}

}  // namespace odlm::train
