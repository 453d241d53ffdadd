// model/llama_model.cc — batched forward pass.
#include "model/llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "base/check.h"
#include "kernels/matmul_float.h"
#include "kernels/quant.h"
#include "kernels/vec_ops.h"
#include "model/weight_interleave.h"
#include "tensor/half.h"

namespace odlm {
namespace {

void AddBias(float* y, const std::vector<float>& bias, int64_t n_tokens) {
  if (bias.empty()) return;
  const int64_t n = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < n; ++i) y[t * n + i] += bias[i];
  }
}

void StoreRow(DType type, const float* src, void* dst, int64_t n) {
  if (type == DType::kF16) {
    auto* d = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = FloatToHalf(src[i]);
  } else {
    std::memcpy(dst, src, n * sizeof(float));
  }
}

// The RoPE of gemma3's sliding layers: their own base, no scaling (the global RoPE when the
// config has no local base).
ModelConfig LocalRopeConfig(const ModelConfig& c) {
  ModelConfig local = c;
  if (c.rope_local_freq_base > 0.0f) {
    local.rope_freq_base = c.rope_local_freq_base;
    local.rope_linear_factor = 1.0f;
    local.rope_freq_factors.clear();
  }
  return local;
}

// Per-head RMSNorm of one token's heads (x: [n_heads, head_dim]), in place.
void HeadNorm(float* x, int32_t n_heads, int32_t head_dim, const std::vector<float>& w, float eps) {
  for (int32_t h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    RmsNorm(v, w.data(), head_dim, eps, v);
  }
}

// x[t] += norm(branch[t]) · w for every token row (gemma's post-norms), or x += branch without w.
void AddBranch(float* x, float* branch, const std::vector<float>& post_norm, int64_t n_tokens,
               int64_t d, float eps) {
  if (!post_norm.empty()) {
    for (int64_t t = 0; t < n_tokens; ++t) {
      RmsNorm(&branch[t * d], post_norm.data(), d, eps, &branch[t * d]);
    }
  }
  for (int64_t i = 0; i < n_tokens * d; ++i) x[i] += branch[i];
}

}  // namespace

LlamaModel::LlamaModel(ModelConfig config, ModelWeights weights)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      rope_(config_),
      rope_local_(LocalRopeConfig(config_)) {}

void LlamaModel::SetContextLength(int64_t n_ctx) {
  if (config_.rope_factors_long.empty()) return;
  config_.rope_freq_factors = n_ctx > config_.rope_original_context ? config_.rope_factors_long
                                                                    : config_.rope_factors_short;
  rope_ = Rope(config_);
  rope_local_ = Rope(LocalRopeConfig(config_));
}

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const GgufFile& file,
                                                       const ModelLoadOptions& options) {
  ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig(file));
  ASSIGN_OR_RETURN(ModelWeights weights, BindModelWeights(file, &config));
  std::unique_ptr<HugePageMemory> interleaved;
  if (options.interleave) {
    ASSIGN_OR_RETURN(interleaved, InterleaveWeights(&weights, options.pool, &file));
  }
  std::unique_ptr<LlamaModel> model(new LlamaModel(std::move(config), std::move(weights)));
  model->interleaved_ = std::move(interleaved);
  return model;
}

LoraBaseShape LlamaModel::LoraBase() const {
  const ModelConfig& c = config_;
  LoraBaseShape b;
  b.arch = c.arch_name;
  b.n_layer = c.n_layer;
  const int64_t d = c.n_embd;
  b.rows = {c.q_dim(), c.kv_dim(), c.kv_dim(), d, c.n_ff, c.n_ff, d};
  b.cols = {d, d, d, c.q_dim(), d, d, c.n_ff};
  b.permute_qk_from_hf = c.rope_style == RopeStyle::kNormal;
  b.n_head = c.n_head;
  b.n_head_kv = c.n_head_kv;
  b.head_dim = c.head_dim;
  return b;
}

Status LlamaModel::Validate(std::span<const SequenceStep> batch) const {
  for (size_t s = 0; s < batch.size(); ++s) {
    const SequenceStep& step = batch[s];
    if (step.n_tokens <= 0 || step.tokens == nullptr || step.kv == nullptr) {
      return InvalidArgumentError("sequence " + std::to_string(s) + " of the batch has no tokens");
    }
    const KvCacheView& kv = *step.kv;
    if (kv.n_layer != config_.n_layer || kv.kv_dim != config_.kv_dim() ||
        (kv.type != DType::kF32 && kv.type != DType::kF16) ||
        kv.k_chunks.size() != static_cast<size_t>(kv.n_layer) * kv.n_chunks ||
        kv.v_chunks.size() != kv.k_chunks.size()) {
      return InvalidArgumentError("KV view of sequence " + std::to_string(s) +
                                  " does not match the model's layers / kv dimension");
    }
    if (kv.n_past < 0 || kv.n_past + static_cast<int64_t>(step.n_tokens) > kv.capacity()) {
      return OutOfRangeError(
          "sequence " + std::to_string(s) + ": " + std::to_string(kv.n_past + step.n_tokens) +
          " tokens do not fit its KV cache of " + std::to_string(kv.capacity()) + " tokens");
    }
    // Every chunk this step reads or writes must be there (a sliding-window layer's chunks
    // before its window may be freed).
    const int64_t last_chunk = (kv.n_past + step.n_tokens - 1) / kv.chunk_tokens;
    for (int32_t l = 0; l < kv.n_layer; ++l) {
      const int64_t first_pos =
          config_.IsSliding(l) ? std::max<int64_t>(0, kv.n_past - config_.sliding_window + 1) : 0;
      for (int64_t c = first_pos / kv.chunk_tokens; c <= last_chunk; ++c) {
        const size_t i = static_cast<size_t>(l) * kv.n_chunks + c;
        if (kv.k_chunks[i] == nullptr || kv.v_chunks[i] == nullptr) {
          return FailedPreconditionError(
              "sequence " + std::to_string(s) + ": the KV cache does not hold layer " +
              std::to_string(l) + "'s positions " + std::to_string(c * kv.chunk_tokens) + ".." +
              std::to_string((c + 1) * kv.chunk_tokens - 1) + ", which this step needs");
        }
      }
    }
    for (const ActiveLora& a : step.adapters) {
      if (a.adapter == nullptr || a.adapter->n_layer() != config_.n_layer ||
          !std::isfinite(a.scale)) {
        return InvalidArgumentError("sequence " + std::to_string(s) +
                                    ": an adapter that was not loaded for this model, or a "
                                    "non-finite adapter scale");
      }
    }
    for (int32_t i = 0; i < step.n_tokens; ++i) {
      if (step.tokens[i] < 0 || step.tokens[i] >= config_.n_vocab) {
        return InvalidArgumentError("token id " + std::to_string(step.tokens[i]) +
                                    " is outside the vocabulary (0.." +
                                    std::to_string(config_.n_vocab - 1) + ")");
      }
    }
  }
  return Status::Ok();
}

std::unique_ptr<LlamaModel> LlamaModel::FromWeights(ModelConfig config, ModelWeights weights) {
  CHECK_EQ(static_cast<int64_t>(weights.layers.size()), config.n_layer);
  CHECK_EQ(weights.token_embd.cols, config.n_embd);
  CHECK_EQ(weights.output.rows, config.n_vocab);
  return std::unique_ptr<LlamaModel>(new LlamaModel(std::move(config), std::move(weights)));
}

void LlamaModel::Product(const kernels::WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                         ThreadPool* pool) const {
  if (float_matmul_) {
    kernels::MatMulFloat(w, x, n_tokens, y, pool);
  } else {
    kernels::MatMul(w, x, n_tokens, y, pool);
  }
}

void LlamaModel::ProductMany(std::span<const kernels::MatMulOutput> outs, const float* x,
                             int64_t n_tokens, ThreadPool* pool) const {
  if (float_matmul_) {
    for (const auto& o : outs) kernels::MatMulFloat(*o.w, x, n_tokens, o.y, pool);
  } else {
    kernels::MatMulMany(outs, x, n_tokens, pool);
  }
}

Status LlamaModel::BeginForward(std::span<const SequenceStep> batch) {
  RETURN_IF_ERROR(Validate(batch));
  const ModelConfig& c = config_;
  int64_t T = 0;
  for (const auto& s : batch) T += s.n_tokens;
  n_tokens_ = T;
  const int64_t d = c.n_embd;
  x_.resize(T * d);
  xb_.resize(T * d);
  q_.resize(T * c.q_dim());
  k_.resize(T * c.kv_dim());
  v_.resize(T * c.kv_dim());
  attn_.resize(T * c.q_dim());
  proj_.resize(T * d);
  gate_.resize(T * c.n_ff);
  up_.resize(T * c.n_ff);

  lora_.Reset();
  for (const auto& s : batch) lora_.AddSequence(s.adapters, s.n_tokens);

  // Embedding lookup: one row of token_embd per token, dequantized.
  int64_t t = 0;
  for (const auto& s : batch) {
    for (int32_t i = 0; i < s.n_tokens; ++i, ++t) {
      const auto* row = static_cast<const uint8_t*>(weights_.token_embd.data) +
                        static_cast<int64_t>(s.tokens[i]) * weights_.token_embd.row_bytes;
      kernels::DequantizeRow(weights_.token_embd.type, row, &x_[t * d], d);
    }
  }
  if (c.embedding_scale != 1.0f) {
    for (float& v : x_) v *= c.embedding_scale;
  }
  return Status::Ok();
}

namespace {
void Record(std::vector<float>* dst, const std::vector<float>& src, int64_t n) {
  dst->assign(src.begin(), src.begin() + n);
}
}  // namespace

void LlamaModel::ForwardLayer(std::span<const SequenceStep> batch, int32_t l, ThreadPool* pool,
                              LayerActivations* rec) {
  const ModelConfig& c = config_;
  const int64_t T = n_tokens_, d = c.n_embd;
  const LayerWeights& w = weights_.layers[l];
  if (rec != nullptr) Record(&rec->x_in, x_, T * d);
  for (int64_t t = 0; t < T; ++t) {
    RmsNorm(&x_[t * d], w.attn_norm.data(), d, c.norm_eps, &xb_[t * d]);
  }
  const kernels::MatMulOutput qkv[] = {{&w.wq, q_.data()}, {&w.wk, k_.data()}, {&w.wv, v_.data()}};
  ProductMany(qkv, xb_.data(), T, pool);
  if (!lora_.empty()) {
    lora_.Apply(l, LoraTarget::kAttnQ, xb_.data(), d, q_.data(), c.q_dim(), pool);
    lora_.Apply(l, LoraTarget::kAttnK, xb_.data(), d, k_.data(), c.kv_dim(), pool);
    lora_.Apply(l, LoraTarget::kAttnV, xb_.data(), d, v_.data(), c.kv_dim(), pool);
  }
  AddBias(q_.data(), w.bq, T);
  AddBias(k_.data(), w.bk, T);
  AddBias(v_.data(), w.bv, T);
  // Per-head Q/K norms and RoPE at each token's position, then K/V into the sequence's cache.
  const Rope& rope = c.IsSliding(l) ? rope_local_ : rope_;
  int64_t t = 0;
  for (const auto& s : batch) {
    for (int32_t i = 0; i < s.n_tokens; ++i, ++t) {
      const int64_t pos = s.kv->n_past + i;
      if (c.qk_norm) {
        HeadNorm(&q_[t * c.q_dim()], c.n_head, c.head_dim, w.q_norm, c.norm_eps);
        HeadNorm(&k_[t * c.kv_dim()], c.n_head_kv, c.head_dim, w.k_norm, c.norm_eps);
      }
      rope.Apply(&q_[t * c.q_dim()], c.n_head, pos);
      rope.Apply(&k_[t * c.kv_dim()], c.n_head_kv, pos);
      StoreRow(s.kv->type, &k_[t * c.kv_dim()], s.kv->KRow(l, pos), c.kv_dim());
      StoreRow(s.kv->type, &v_[t * c.kv_dim()], s.kv->VRow(l, pos), c.kv_dim());
    }
  }
  Attention(batch, l, pool);
  if (rec != nullptr) {
    Record(&rec->xb_attn, xb_, T * d);
    Record(&rec->q, q_, T * c.q_dim());
    Record(&rec->k, k_, T * c.kv_dim());
    Record(&rec->v, v_, T * c.kv_dim());
    Record(&rec->attn, attn_, T * c.q_dim());
  }
  Product(w.wo, attn_.data(), T, proj_.data(), pool);
  if (!lora_.empty()) {
    lora_.Apply(l, LoraTarget::kAttnOutput, attn_.data(), c.q_dim(), proj_.data(), d, pool);
  }
  AddBranch(x_.data(), proj_.data(), w.post_attn_norm, T, d, c.norm_eps);
  if (rec != nullptr) Record(&rec->x_mid, x_, T * d);

  for (int64_t t2 = 0; t2 < T; ++t2) {
    RmsNorm(&x_[t2 * d], w.ffn_norm.data(), d, c.norm_eps, &xb_[t2 * d]);
  }
  const kernels::MatMulOutput gate_up[] = {{&w.w_gate, gate_.data()}, {&w.w_up, up_.data()}};
  ProductMany(gate_up, xb_.data(), T, pool);
  if (!lora_.empty()) {
    lora_.Apply(l, LoraTarget::kFfnGate, xb_.data(), d, gate_.data(), c.n_ff, pool);
    lora_.Apply(l, LoraTarget::kFfnUp, xb_.data(), d, up_.data(), c.n_ff, pool);
  }
  if (rec != nullptr) {
    Record(&rec->xb_ffn, xb_, T * d);
    Record(&rec->gate, gate_, T * c.n_ff);
    Record(&rec->up, up_, T * c.n_ff);
  }
  if (c.ffn_activation == FfnActivation::kGeluTanh) {
    GeluTanhMulInPlace(gate_.data(), up_.data(), T * c.n_ff);
  } else {
    SiluMulInPlace(gate_.data(), up_.data(), T * c.n_ff);
  }
  if (rec != nullptr) Record(&rec->act, gate_, T * c.n_ff);
  Product(w.w_down, gate_.data(), T, proj_.data(), pool);
  if (!lora_.empty()) {
    lora_.Apply(l, LoraTarget::kFfnDown, gate_.data(), c.n_ff, proj_.data(), d, pool);
  }
  AddBranch(x_.data(), proj_.data(), w.post_ffn_norm, T, d, c.norm_eps);
}

Status LlamaModel::Forward(std::span<const SequenceStep> batch, ThreadPool* pool,
                           std::vector<float>* logits) {
  RETURN_IF_ERROR(BeginForward(batch));
  const ModelConfig& c = config_;
  for (int32_t l = 0; l < c.n_layer; ++l) ForwardLayer(batch, l, pool, nullptr);

  // Final norm on the rows that need logits, then the output projection.
  const int64_t d = c.n_embd;
  int64_t n_rows = 0;
  for (const auto& s : batch) n_rows += s.all_logits ? s.n_tokens : 1;
  out_x_.resize(n_rows * d);
  int64_t t = 0, row = 0;
  for (const auto& s : batch) {
    for (int32_t i = 0; i < s.n_tokens; ++i, ++t) {
      if (!s.all_logits && i != s.n_tokens - 1) continue;
      RmsNorm(&x_[t * d], weights_.output_norm.data(), d, c.norm_eps, &out_x_[row * d]);
      ++row;
    }
  }
  logits->resize(n_rows * c.n_vocab);
  Product(weights_.output, out_x_.data(), n_rows, logits->data(), pool);
  if (c.final_logit_softcap > 0.0f)
    SoftCapInPlace(logits->data(), n_rows * c.n_vocab, c.final_logit_softcap);
  return Status::Ok();
}

void LlamaModel::Attention(std::span<const SequenceStep> batch, int32_t layer, ThreadPool* pool) {
  const ModelConfig& c = config_;
  const int32_t hd = c.head_dim, group = c.n_head / c.n_head_kv;
  const float scale = c.attention_scale, softcap = c.attn_logit_softcap;
  const int64_t window = c.IsSliding(layer) ? c.sliding_window : 0;  // 0: the whole context
  // Tasks: (sequence, KV head) pairs. The `group` query heads that share a KV head are adjacent in
  // q_, so each K and V row is read once per query token for all of them (DotKvRow / AxpyKvRow
  // with nq = group) instead of once per query head.
  std::vector<int64_t> first_row;  // per sequence: its first row in the batch
  int64_t t0 = 0, max_ctx = 0;
  for (const auto& step : batch) {
    first_row.push_back(t0);
    t0 += step.n_tokens;
    max_ctx = std::max<int64_t>(max_ctx, step.kv->n_past + step.n_tokens);
  }
  const int n_threads = pool != nullptr ? pool->num_threads() : 1;
  if (thread_scores_.size() < static_cast<size_t>(n_threads)) thread_scores_.resize(n_threads);
  for (int i = 0; i < n_threads; ++i) {
    // [group, context] probabilities, then [group] dots of one row.
    const size_t need = static_cast<size_t>(group) * (max_ctx + 1);
    if (thread_scores_[i].size() < need) thread_scores_[i].resize(need);
  }
  const int64_t n_tasks = static_cast<int64_t>(batch.size()) * c.n_head_kv;
  std::mutex received_mu;  // guards the views' attention_received accumulators
  auto run = [&](int thread, int64_t begin, int64_t end) {
    float* probs = thread_scores_[thread].data();                     // [group, n_ctx]
    float* row_dots = probs + static_cast<int64_t>(group) * max_ctx;  // [group]
    for (int64_t task = begin; task < end; ++task) {
      const int32_t s = static_cast<int32_t>(task / c.n_head_kv),
                    kvh = static_cast<int32_t>(task % c.n_head_kv);
      const SequenceStep& step = batch[s];
      const KvCacheView& kv = *step.kv;
      // Optional tolerance signal for kv/: the softmax weight each position receives, summed
      // over this task's heads and tokens here and added to the sequence's accumulator once
      // under a lock.
      float* received = nullptr;
      thread_local std::vector<float> received_local;
      if (kv.attention_received != nullptr) {
        received_local.assign(kv.n_past + step.n_tokens, 0.0f);
        received = received_local.data();
      }
      const int64_t head_offset = (kv.type == DType::kF16 ? 2 : 4) * kvh * hd;  // bytes
      for (int32_t i = 0; i < step.n_tokens; ++i) {
        const int64_t t = first_row[s] + i;
        // Causal: positions j0..pos are visible, j0 = 0 unless a sliding window starts later.
        const int64_t pos = kv.n_past + i;
        const int64_t j0 = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
        const int64_t n_ctx = pos + 1 - j0;  // probs[g * n_ctx + (j - j0)]
        const float* q =
            &q_[t * c.q_dim() + static_cast<int64_t>(kvh) * group * hd];  // [group, hd]
        for (int64_t j = j0; j <= pos; ++j) {
          kernels::DotKvRow(kv.type, static_cast<const char*>(kv.KRow(layer, j)) + head_offset, q,
                            group, hd, scale, row_dots);
          for (int32_t g = 0; g < group; ++g) probs[g * n_ctx + (j - j0)] = row_dots[g];
        }
        if (softcap > 0.0f) SoftCapInPlace(probs, static_cast<int64_t>(group) * n_ctx, softcap);
        for (int32_t g = 0; g < group; ++g) {
          SoftmaxInPlace(probs + g * n_ctx, n_ctx);
          if (received != nullptr) {
            for (int64_t j = 0; j < n_ctx; ++j) received[j0 + j] += probs[g * n_ctx + j];
          }
        }
        float* out = &attn_[t * c.q_dim() + static_cast<int64_t>(kvh) * group * hd];  // [group, hd]
        std::fill(out, out + static_cast<int64_t>(group) * hd, 0.0f);
        for (int64_t j = j0; j <= pos; ++j) {
          kernels::AxpyKvRow(kv.type, static_cast<const char*>(kv.VRow(layer, j)) + head_offset,
                             probs + (j - j0), n_ctx, group, hd, out);
        }
      }
      if (received != nullptr) {
        std::lock_guard<std::mutex> lock(received_mu);
        for (int64_t j = 0; j < kv.n_past + step.n_tokens; ++j)
          kv.attention_received[j] += received[j];
      }
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(n_tasks, run);
  } else {
    run(0, 0, n_tasks);
  }
}

}  // namespace odlm
