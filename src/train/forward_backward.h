// train/forward_backward.h — one forward and backward pass of a TrainableModel over a batch.
//
// The forward is model/'s (LlamaModel::BeginForward / ForwardLayer, recording LayerActivations);
// the backward walks the layers in reverse with train/backward_ops and the f32 products of
// kernels/matmul_float.h, adding each trainable tensor's gradient into its Param::grad.
//
// Loss (../shared/testdata/README.md, train/): for a batch of independent sequences,
//   loss = Σ_seq Σ_{t≥1} w[t]·(−log softmax(logits[t−1])[tokens[t]]) / W,
// positions from 0 in each sequence, no attention across sequences. The caller passes W (the
// weight sum of the whole optimizer step, which may span several ForwardBackward calls when
// accumulating gradients), so the accumulated gradients are those of the step's weighted mean.
//
// Activation checkpointing keeps only each layer's input [T, n_embd] and recomputes the layer's
// forward during backward (≈ 1.33× compute); without it every layer's LayerActivations are kept
// (≈ (5·n_embd + 2·q_dim + 2·kv_dim + 3·n_ff) floats per token and layer). Logits are computed only
// for positions whose next token has a positive weight, a chunk of rows at a time.
// Thread-safety: one call at a time per TrainableModel (it uses the model's scratch).
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "train/trainable_model.h"

namespace odlm::train {

struct TrainSequence {
  const int32_t* tokens = nullptr;  // [n]
  const float* weights =
      nullptr;  // [n]; weights[t] weighs predicting tokens[t]; weights[0] ignored
  int32_t n = 0;
};

struct ForwardBackwardOptions {
  bool checkpoint = false;  // activation checkpointing (recompute each layer in backward)
  bool backward = true;     // false: loss only (validation)
  int32_t logit_rows = 64;  // rows of logits computed at once
};

struct LossSum {
  double weighted_loss = 0.0;  // Σ w·CE over the batch
  double weight = 0.0;         // Σ w over the batch
  int64_t tokens = 0;          // tokens run through the model
};

class ForwardBackward {
 public:
  explicit ForwardBackward(TrainableModel* model) : tm_(model) {}

  // Runs the batch; with options.backward adds d(Σ w·CE / weight_total)/dθ to every Param::grad.
  // Errors: token ids outside the vocabulary, empty sequences (nothing is changed then).
  StatusOr<LossSum> Run(const std::vector<TrainSequence>& batch, double weight_total,
                        const ForwardBackwardOptions& options, ThreadPool* pool);

 private:
  void LayerBackward(int32_t layer, const LayerActivations& a, float* dx, ThreadPool* pool);
  // dx (+)= dy·W through a frozen or trained matrix: the int8 transpose when the model has one.
  void BackwardThrough(const kernels::WeightMatrix& w, const float* dy, int64_t n_tokens, float* dx,
                       bool accumulate, ThreadPool* pool);
  // dx_in (+)= dY·W (+ LoRA), dW/dA/dB += …, for one projection y = x·Wᵀ (+ s·B·A·x).
  void ProjectionBackward(int32_t layer, int target, const kernels::WeightMatrix& w, const float* x,
                          int64_t n_in, const float* dy, int64_t n_out, float* dx, bool accumulate,
                          ThreadPool* pool);

  TrainableModel* tm_;
  std::vector<std::vector<float>> kv_;  // per sequence: [2, n_layer, n, kv_dim]
  std::vector<KvCacheView> views_;
  std::vector<LayerActivations> saved_;       // per layer (no checkpointing) or one (checkpoint)
  std::vector<std::vector<float>> layer_in_;  // checkpointing: per layer [T, n_embd]
  std::vector<int32_t> seq_start_;            // first batch row of each sequence
  // Scratch of the backward, [T, ·].
  std::vector<float> dx_, d_ff_, d_gate_, d_up_, d_xb_, d_attn_, dq_, dk_, dv_, tmp_, u_, du_, xd_,
      through_;
  std::vector<float> final_x_, head_f_, head_logits_, head_df_,
      head_dx_;  // the output layer's rows
};

}  // namespace odlm::train
