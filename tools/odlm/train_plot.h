// tools/odlm/train_plot.h — the loss curves of a training run (its JSONL log) as an SVG line chart.
#pragma once

#include <string>

#include "base/status.h"

namespace odlm::cli {

// Reads `log_path` (train/trainer.h's JSONL: step, loss, optional val_loss per line) and writes a
// line chart of training loss and validation loss against the step to `svg_path` (crash-safe).
// InvalidArgument when the log has no step.
Status WriteLossPlotSvg(const std::string& log_path, const std::string& svg_path,
                        const std::string& title);

}  // namespace odlm::cli
