// train/trainer.cc — the step loop, validation, log and checkpoints.
#include "train/trainer.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "base/check.h"
#include "platform/file_util.h"

namespace odlm::train {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

Trainer::Trainer(TrainableModel* model, const DataSet* train, const DataSet* val,
                 TrainerOptions options, ThreadPool* pool)
    : tm_(model),
      train_(train),
      val_(val),
      o_(std::move(options)),
      pool_(pool),
      fb_(model),
      optimizer_(o_.optimizer) {
  rows_ = PackRows(*train_, o_.ctx, o_.pack);
  if (val_ != nullptr) val_rows_ = PackRows(*val_, o_.ctx, o_.pack);
  const int64_t per_step = static_cast<int64_t>(o_.batch) * o_.grad_accum;
  if (o_.steps > 0) {
    total_steps_ = o_.steps;
  } else {
    total_steps_ = static_cast<int64_t>(
        std::ceil(o_.epochs * static_cast<double>(rows_.size()) / static_cast<double>(per_step)));
  }
  o_.schedule.total_steps = std::max<int64_t>(1, total_steps_);
}

std::vector<TrainSequence> Trainer::Sequences(const DataSet& data,
                                              const std::vector<PackedRow>& rows,
                                              const std::vector<int32_t>& which) const {
  std::vector<TrainSequence> out;
  for (int32_t r : which) {
    for (int32_t e : rows[r].examples) {
      const TrainExample& ex = data.examples[e];
      out.push_back({ex.tokens.data(), ex.weights.data(), static_cast<int32_t>(ex.tokens.size())});
    }
  }
  return out;
}

double Trainer::WeightOf(const std::vector<TrainSequence>& seqs) const {
  double w = 0.0;
  for (const TrainSequence& s : seqs) {
    for (int32_t t = 1; t < s.n; ++t) w += s.weights[t];
  }
  return w;
}

StatusOr<double> Trainer::ValidationLoss() {
  if (val_rows_.empty()) return NAN;
  tm_->SetDropout(false, 0);
  double loss = 0.0, weight = 0.0;
  ForwardBackwardOptions fo;
  fo.backward = false;
  for (size_t r0 = 0; r0 < val_rows_.size(); r0 += o_.batch) {
    std::vector<int32_t> which;
    for (size_t r = r0; r < std::min(val_rows_.size(), r0 + o_.batch); ++r) {
      which.push_back(static_cast<int32_t>(r));
    }
    ASSIGN_OR_RETURN(LossSum s, fb_.Run(Sequences(*val_, val_rows_, which), 0.0, fo, pool_));
    loss += s.weighted_loss;
    weight += s.weight;
  }
  return weight > 0 ? loss / weight : NAN;
}

Status Trainer::OpenLog(int64_t keep_through_step) {
  if (o_.log_path.empty()) return Status::Ok();
  std::string kept;
  if (keep_through_step > 0 && FileExists(o_.log_path)) {
    ASSIGN_OR_RETURN(std::string old, ReadFileToString(o_.log_path));
    std::istringstream in(old);
    std::string line;
    while (std::getline(in, line)) {
      // Lines start with {"step":N, as AppendLog writes them.
      const size_t colon = line.find(':');
      if (line.rfind("{\"step\":", 0) != 0 || colon == std::string::npos) continue;
      if (std::atoll(line.c_str() + colon + 1) <= keep_through_step) kept += line + "\n";
    }
  }
  return WriteFileAtomically(o_.log_path, kept);
}

Status Trainer::AppendLog(const StepMetrics& m) {
  if (o_.log_path.empty()) return Status::Ok();
  std::string line =
      "{\"step\":" + std::to_string(m.step) + ",\"epoch\":" + std::to_string(m.epoch) +
      ",\"loss\":" + Num(m.loss) + ",\"lr\":" + Num(m.lr) + ",\"grad_norm\":" + Num(m.grad_norm) +
      ",\"clip_coef\":" + Num(m.clip_coef) + ",\"tokens\":" + std::to_string(m.tokens) +
      ",\"tokens_per_s\":" + Num(m.tokens_per_s) + ",\"elapsed_s\":" + Num(m.elapsed_s);
  if (std::isfinite(m.val_loss)) line += ",\"val_loss\":" + Num(m.val_loss);
  line += "}\n";
  FILE* f = std::fopen(o_.log_path.c_str(), "a");
  if (f == nullptr) return UnavailableError("cannot append to " + o_.log_path);
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return UnavailableError("cannot append to " + o_.log_path);
  return Status::Ok();
}

StatusOr<StepMetrics> Trainer::Run(const std::function<void(const StepMetrics&)>& on_step,
                                   const std::function<bool()>& stop) {
  if (rows_.empty()) return InvalidArgumentError("the training data has no usable examples");
  if (o_.batch <= 0 || o_.grad_accum <= 0) {
    return InvalidArgumentError("batch and grad-accum must be at least 1");
  }
  ParamSet& params = tm_->params();
  optimizer_.Init(params);
  TrainProgress progress;
  progress.fingerprint = o_.fingerprint;
  const std::string ckpt = o_.checkpoint_dir.empty() ? "" : CheckpointPath(o_.checkpoint_dir);
  if (o_.resume) {
    if (ckpt.empty()) return InvalidArgumentError("--resume needs --checkpoint-dir");
    const Status st = LoadCheckpoint(ckpt, &params, &optimizer_, &progress);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  RETURN_IF_ERROR(OpenLog(progress.step));
  if (progress.step == 0 && !val_rows_.empty() && !o_.log_path.empty()) {
    // The starting point of the validation curve.
    StepMetrics start;
    start.loss = NAN;
    ASSIGN_OR_RETURN(start.val_loss, ValidationLoss());
    RETURN_IF_ERROR(AppendLog(start));
  }

  std::vector<int32_t> order =
      EpochOrder(static_cast<int64_t>(rows_.size()), o_.seed, progress.epoch);
  const double segment_start = Now();
  const int64_t segment_tokens_start = progress.tokens;
  StepMetrics m;
  m.total_steps = total_steps_;
  ForwardBackwardOptions fo;
  fo.checkpoint = o_.checkpoint_activations;
  while (progress.step < total_steps_) {
    // The rows of this step, epoch by epoch.
    std::vector<std::vector<int32_t>> micro(o_.grad_accum);
    for (int32_t a = 0; a < o_.grad_accum; ++a) {
      for (int32_t b = 0; b < o_.batch; ++b) {
        if (progress.row >= static_cast<int64_t>(order.size())) {
          ++progress.epoch;
          progress.row = 0;
          order = EpochOrder(static_cast<int64_t>(rows_.size()), o_.seed, progress.epoch);
        }
        micro[a].push_back(order[progress.row++]);
      }
    }
    std::vector<std::vector<TrainSequence>> seqs(o_.grad_accum);
    double weight = 0.0;
    for (int32_t a = 0; a < o_.grad_accum; ++a) {
      seqs[a] = Sequences(*train_, rows_, micro[a]);
      weight += WeightOf(seqs[a]);
    }
    ZeroGrads(&params);
    double loss_sum = 0.0;
    for (int32_t a = 0; a < o_.grad_accum; ++a) {
      // Dropout masks per (seed, step, micro-batch): a resumed run draws the same ones.
      tm_->SetDropout(true, o_.seed * 0x9e3779b97f4a7c15ull +
                                static_cast<uint64_t>(progress.step) * 1000003ull + a);
      ASSIGN_OR_RETURN(LossSum s, fb_.Run(seqs[a], weight, fo, pool_));
      loss_sum += s.weighted_loss;
      progress.tokens += s.tokens;
    }
    m.loss = loss_sum / weight;
    m.grad_norm = ClipGradNorm(&params, o_.max_grad_norm, &m.clip_coef);
    m.lr = o_.schedule.At(progress.step);
    optimizer_.Step(&params, m.lr, pool_);
    ++progress.step;

    m.step = progress.step;
    m.epoch = progress.epoch;
    m.tokens = progress.tokens;
    const double segment = Now() - segment_start;
    m.elapsed_s = progress.elapsed_s + segment;
    m.tokens_per_s = segment > 0 ? (progress.tokens - segment_tokens_start) / segment : 0.0;
    const int64_t steps_done = std::max<int64_t>(1, progress.step);
    m.eta_s = m.elapsed_s / static_cast<double>(steps_done) *
              static_cast<double>(total_steps_ - progress.step);
    m.val_loss = NAN;
    const bool last = progress.step == total_steps_;
    if ((o_.eval_every > 0 && progress.step % o_.eval_every == 0) || last) {
      ASSIGN_OR_RETURN(m.val_loss, ValidationLoss());
    }
    RETURN_IF_ERROR(AppendLog(m));
    const bool stopping = stop != nullptr && stop();
    if (!ckpt.empty() && ((o_.checkpoint_every > 0 && progress.step % o_.checkpoint_every == 0) ||
                          last || stopping)) {
      TrainProgress saved = progress;
      saved.elapsed_s = m.elapsed_s;
      RETURN_IF_ERROR(SaveCheckpoint(ckpt, params, optimizer_, saved));
    }
    if (on_step) on_step(m);
    if (stopping) break;
  }
  if (progress.step == 0 && total_steps_ == 0) {
    return InvalidArgumentError("nothing to train: 0 steps");
  }
  m.step = progress.step;
  return m;
}

}  // namespace odlm::train
