// train/optimizer.h — optimizers, learning-rate schedules and gradient clipping.
//
// AdamW follows torch.optim.AdamW exactly (the fixtures in ../shared/testdata/train/ define it):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//   p ← p − lr · (m / (1−β1^t)) / (√v / √(1−β2^t) + eps)
// with weight decay only on parameters whose Param::decay is set (matrices, not norms or biases —
// PyTorch applies it to whatever is in the param group; the fixtures' LoRA tensors all decay).
// SGD: p ← p·(1 − lr·wd); with momentum μ: b ← μ·b + g, p ← p − lr·b (PyTorch's SGD, dampening 0).
// Clipping: g ← g · min(1, max_norm / (‖g‖₂ + 1e-6)) over all parameters (torch's
// clip_grad_norm_). Deterministic: element-wise in ParamSet order.
// State (m, v or momentum, step count) is plain vectors so checkpoints save and restore it exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "train/params.h"

namespace odlm::train {

enum class OptimizerKind { kAdamW, kSgd };
StatusOr<OptimizerKind> ParseOptimizer(const std::string& name);  // "adamw", "sgd"

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdamW;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.01;
  double momentum = 0.0;  // SGD
};

class Optimizer {
 public:
  explicit Optimizer(const OptimizerOptions& options) : o_(options) {}
  // Sizes the state for `params` (zeros); must be called before Step or Restore.
  void Init(const ParamSet& params);
  // One update of every parameter with its current gradient at learning rate `lr`.
  // Element-wise, split over `pool` (may be nullptr) without changing results.
  void Step(ParamSet* params, double lr, ThreadPool* pool = nullptr);
  int64_t steps() const { return t_; }

  // State for checkpoints: per parameter, the named state tensors ("m", "v" or "momentum").
  struct State {
    int64_t step = 0;
    std::vector<std::vector<float>> slots;  // [n_slots * n_params], each [param.n]
    int32_t n_slots = 0;
  };
  State SaveState() const;
  // InvalidArgument if the state does not fit the parameters of Init.
  Status RestoreState(State state);
  // Names of the state slots ("m", "v" / "momentum").
  std::vector<std::string> SlotNames() const;

 private:
  OptimizerOptions o_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;  // AdamW moments or SGD momentum (m_)
};

// Clips the global gradient norm to max_norm (<= 0: no clipping). Returns the norm before
// clipping; *coef (optional) gets the factor applied (1 when not clipped).
double ClipGradNorm(ParamSet* params, double max_norm, double* coef);

enum class ScheduleKind { kConstant, kLinear, kCosine };
StatusOr<ScheduleKind> ParseSchedule(const std::string& name);  // "constant", "linear", "cosine"

struct Schedule {
  ScheduleKind kind = ScheduleKind::kCosine;
  double lr = 1e-3;
  double min_lr_ratio = 0.0;  // linear/cosine decay to lr·min_lr_ratio at total_steps
  int64_t warmup_steps = 0;   // linear ramp from lr/warmup to lr over the first steps
  int64_t total_steps = 1;
  // The learning rate of optimizer step `step` (0-based).
  double At(int64_t step) const;
};

}  // namespace odlm::train
