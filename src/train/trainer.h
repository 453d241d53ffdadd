// train/trainer.h — the training loop: batches from a DataSet, forward/backward, clipping, the
// optimizer and its schedule, validation, a JSONL metrics log and checkpoints with resume.
//
// Rows (train/dataset.h PackRows) are visited in EpochOrder(seed, epoch); one optimizer step takes
// batch × grad_accum rows, run as grad_accum micro-batches of `batch` rows whose gradients add up
// to those of the step's weighted-mean loss (the weight total of all its rows divides every
// micro-batch's sum). Epochs roll over inside a step when the order runs out.
//
// Resume: with checkpoint_dir set, a checkpoint is written every checkpoint_every steps and after
// the last one; with resume, a run continues from the checkpoint (weights, optimizer state, data
// position) and, at the same thread count, ends with weights bit for bit equal to a run that was
// never interrupted. The JSONL log is cut back to the checkpoint's step on resume, so it holds
// every step exactly once; a first line {"step":0,"val_loss":…} holds the validation loss before
// training when there is validation data.
// Thread-safety: one Run at a time; the on_step callback runs on the calling thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "base/thread_pool.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/forward_backward.h"
#include "train/optimizer.h"
#include "train/trainable_model.h"

namespace odlm::train {

struct TrainerOptions {
  int64_t steps = 0;       // optimizer steps; 0: from epochs
  double epochs = 1.0;     // used when steps == 0
  int32_t batch = 1;       // rows per micro-batch
  int32_t grad_accum = 1;  // micro-batches per optimizer step
  int32_t ctx = 512;       // tokens per row (examples were cut to it by the loader)
  bool pack = true;        // several examples per row (each still its own sequence)
  bool checkpoint_activations = false;
  Schedule schedule;  // total_steps is set by the trainer
  OptimizerOptions optimizer;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  std::string checkpoint_dir;  // "" → no checkpoints
  int64_t checkpoint_every = 0;
  bool resume = false;
  int64_t eval_every = 0;  // steps between validation losses (0: at the end only)
  uint64_t seed = 0;
  std::string log_path;     // JSONL of every step's metrics ("" → none)
  std::string fingerprint;  // what a resume must match (model, data, options)
};

struct StepMetrics {
  int64_t step = 0, total_steps = 0, epoch = 0;
  double loss = NAN;      // the step's weighted-mean training loss (before the update)
  double val_loss = NAN;  // when validated at this step
  double lr = 0, grad_norm = 0, clip_coef = 1;
  int64_t tokens = 0;       // tokens trained on so far
  double tokens_per_s = 0;  // over this run segment
  double elapsed_s = 0;     // training time, resumed segments included
  double eta_s = 0;
};

class Trainer {
 public:
  // `val` may be null or empty (no validation). The pointers must outlive the trainer.
  Trainer(TrainableModel* model, const DataSet* train, const DataSet* val, TrainerOptions options,
          ThreadPool* pool);

  // Trains to the end (or until `stop` returns true after a step); returns the last step's
  // metrics. Errors: no training rows, a checkpoint that does not match (on resume), I/O errors
  // of the log or the checkpoint.
  StatusOr<StepMetrics> Run(const std::function<void(const StepMetrics&)>& on_step,
                            const std::function<bool()>& stop = nullptr);

  // Weighted-mean loss over the validation rows (NAN when there are none).
  StatusOr<double> ValidationLoss();
  int64_t total_steps() const { return total_steps_; }
  int64_t rows() const { return static_cast<int64_t>(rows_.size()); }

 private:
  std::vector<TrainSequence> Sequences(const DataSet& data, const std::vector<PackedRow>& rows,
                                       const std::vector<int32_t>& which) const;
  double WeightOf(const std::vector<TrainSequence>& seqs) const;
  Status OpenLog(int64_t keep_through_step);
  Status AppendLog(const StepMetrics& m);

  TrainableModel* tm_;
  const DataSet* train_;
  const DataSet* val_;
  TrainerOptions o_;
  ThreadPool* pool_;
  ForwardBackward fb_;
  Optimizer optimizer_;
  std::vector<PackedRow> rows_, val_rows_;
  int64_t total_steps_ = 0;
};

}  // namespace odlm::train
