// train/optimizer.cc — AdamW, SGD, clipping and schedules.
#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "base/check.h"

namespace odlm::train {

StatusOr<OptimizerKind> ParseOptimizer(const std::string& name) {
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "sgd") return OptimizerKind::kSgd;
  return InvalidArgumentError("unknown optimizer '" + name + "' (expected adamw or sgd)");
}

void Optimizer::Init(const ParamSet& params) {
  t_ = 0;
  m_.clear();
  v_.clear();
  for (const Param& p : params) {
    m_.emplace_back(static_cast<size_t>(p.n), 0.0f);
    if (o_.kind == OptimizerKind::kAdamW) v_.emplace_back(static_cast<size_t>(p.n), 0.0f);
  }
}

namespace {

// fn(begin, end) over [0, n), on the pool for large n.
void ForElements(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr || n < 65536) {
    fn(0, n);
    return;
  }
  pool->ParallelFor(
      n, [&](int, int64_t b, int64_t e) { fn(b, e); }, 4096);
}

}  // namespace

void Optimizer::Step(ParamSet* params, double lr, ThreadPool* pool) {
  CHECK_EQ(params->size(), m_.size());
  ++t_;
  const float lr_f = static_cast<float>(lr);
  if (o_.kind == OptimizerKind::kAdamW) {
    const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(t_));
    const double bc2 = 1.0 - std::pow(o_.beta2, static_cast<double>(t_));
    // As torch's single-tensor AdamW: step_size = lr / bc1, denom = √v / √bc2 + eps.
    const float step_size = static_cast<float>(lr / bc1);
    const float sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
    const float b1 = static_cast<float>(o_.beta1), b2 = static_cast<float>(o_.beta2);
    const float eps = static_cast<float>(o_.eps);
    for (size_t k = 0; k < params->size(); ++k) {
      Param& p = (*params)[k];
      const float decay = p.decay ? static_cast<float>(1.0 - lr * o_.weight_decay) : 1.0f;
      float* m = m_[k].data();
      float* v = v_[k].data();
      float* data = p.data;
      const float* grad = p.grad.data();
      ForElements(pool, p.n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float g = grad[i];
          data[i] *= decay;
          m[i] = b1 * m[i] + (1.0f - b1) * g;
          v[i] = b2 * v[i] + (1.0f - b2) * g * g;
          const float denom = std::sqrt(v[i]) / sqrt_bc2 + eps;
          data[i] -= step_size * (m[i] / denom);
        }
      });
    }
    return;
  }
  const float mu = static_cast<float>(o_.momentum);
  for (size_t k = 0; k < params->size(); ++k) {
    Param& p = (*params)[k];
    const float decay = p.decay ? static_cast<float>(1.0 - lr * o_.weight_decay) : 1.0f;
    float* b = m_[k].data();
    for (int64_t i = 0; i < p.n; ++i) {
      p.data[i] *= decay;
      float step = p.grad[i];
      if (mu != 0.0f) {
        b[i] = t_ == 1 ? step : mu * b[i] + step;
        step = b[i];
      }
      p.data[i] -= lr_f * step;
    }
  }
}

std::vector<std::string> Optimizer::SlotNames() const {
  if (o_.kind == OptimizerKind::kAdamW) return {"m", "v"};
  return {"momentum"};
}

Optimizer::State Optimizer::SaveState() const {
  State s;
  s.step = t_;
  s.n_slots = o_.kind == OptimizerKind::kAdamW ? 2 : 1;
  s.slots = m_;
  for (const auto& v : v_) s.slots.push_back(v);
  return s;
}

Status Optimizer::RestoreState(State s) {
  const int32_t want = o_.kind == OptimizerKind::kAdamW ? 2 : 1;
  if (s.n_slots != want || s.slots.size() != m_.size() * want || s.step < 0) {
    return InvalidArgumentError("the checkpoint's optimizer state does not match this optimizer");
  }
  for (size_t k = 0; k < m_.size(); ++k) {
    for (int32_t j = 0; j < want; ++j) {
      if (s.slots[j * m_.size() + k].size() != m_[k].size()) {
        return InvalidArgumentError(
            "the checkpoint's optimizer state has a tensor of the wrong size");
      }
    }
  }
  t_ = s.step;
  for (size_t k = 0; k < m_.size(); ++k) {
    m_[k] = std::move(s.slots[k]);
    if (want == 2) v_[k] = std::move(s.slots[m_.size() + k]);
  }
  return Status::Ok();
}

double ClipGradNorm(ParamSet* params, double max_norm, double* coef) {
  const double norm = GradNorm(*params);
  double c = 1.0;
  if (max_norm > 0) c = std::min(1.0, max_norm / (norm + 1e-6));
  if (c < 1.0) {
    const float cf = static_cast<float>(c);
    for (Param& p : *params) {
      for (float& g : p.grad) g *= cf;
    }
  }
  if (coef != nullptr) *coef = c;
  return norm;
}

StatusOr<ScheduleKind> ParseSchedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::kConstant;
  if (name == "linear") return ScheduleKind::kLinear;
  if (name == "cosine") return ScheduleKind::kCosine;
  return InvalidArgumentError("unknown schedule '" + name +
                              "' (expected constant, linear or cosine)");
}

double Schedule::At(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) {
    return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  if (kind == ScheduleKind::kConstant) return lr;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  const double min_lr = lr * min_lr_ratio;
  if (kind == ScheduleKind::kLinear) return min_lr + (lr - min_lr) * (1.0 - progress);
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace odlm::train
