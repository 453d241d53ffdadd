// train/checkpoint.h — periodic, crash-safe training checkpoints and resume.
//
// A checkpoint is one GGUF file holding everything a run needs to continue bit for bit: the
// trainable tensors (their Param names), the optimizer's state tensors ("opt.<slot>.<name>"), and
// in metadata the progress (optimizer steps, epoch, row of the epoch order, tokens seen, elapsed
// time; dropout masks derive from the seed and step, so no RNG state) and a fingerprint of what
// must not change between the run and its resume (model file, data, mode and every option that
// shapes the trajectory). It is written to a temporary file, fsynced and renamed over
// `<dir>/checkpoint.gguf` (GgufWriter::WriteFile), so a kill -9 at any moment leaves either the
// previous checkpoint or the new one, whole.
//
// Loading validates every tensor's name and size and the fingerprint before changing anything:
// on error the parameters and optimizer are as they were.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "train/optimizer.h"
#include "train/params.h"

namespace odlm::train {

struct TrainProgress {
  int64_t step = 0;         // optimizer steps done
  int64_t epoch = 0;        // epoch of the next row
  int64_t row = 0;          // index of the next row in that epoch's order
  int64_t tokens = 0;       // tokens trained on so far
  double elapsed_s = 0.0;   // training time before this run segment
  std::string fingerprint;  // must equal the resuming run's
};

// The checkpoint file inside `dir`.
std::string CheckpointPath(const std::string& dir);

Status SaveCheckpoint(const std::string& path, const ParamSet& params, const Optimizer& optimizer,
                      const TrainProgress& progress);

// Restores params' values, the optimizer state and *progress from `path`. NotFound when there is
// no checkpoint; FailedPrecondition when its fingerprint differs from progress->fingerprint (the
// message says so); InvalidArgument / DataLoss for a file that does not fit.
Status LoadCheckpoint(const std::string& path, ParamSet* params, Optimizer* optimizer,
                      TrainProgress* progress);

}  // namespace odlm::train
