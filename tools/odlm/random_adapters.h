// tools/odlm/random_adapters.h — random LoRA adapters that fit a loaded model, for benchmarks on
// models that have no adapter files (`--random-lora N --random-rank R`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "odlm/engine.h"

namespace odlm::cli {

struct RandomLoraOptions {
  int count = 0;  // adapters to make
  int rank = 16;  // rank of each, on all seven projections of every layer
  bool ok() const { return count > 0; }
};

void AddRandomLoraOptions(CLI::App& app, RandomLoraOptions* o);

// Registers `o.count` adapters "rand1", "rand2", … (seeded, so runs are comparable) in `engine`;
// false with a message on stderr if the engine refuses one. Cost: rank·(n_in + n_out) random
// floats per projection (a rank-16 adapter of a 1.1B model is ~50 MB).
bool RegisterRandomAdapters(const char* prog, const RandomLoraOptions& o, Engine* engine);

}  // namespace odlm::cli
