// kv/restore_planner.h — which missing chunks of a context to read from disk and which to
// recompute.
//
// Restoring a context needs every chunk's KV. Chunks still in memory are decompressed; missing
// ones are either read from the swap directory or recomputed from their tokens. Recomputing chunk c
// needs every chunk before it present, so the plan recomputes a *prefix* of the missing chunks (in
// position order) while a reader thread fetches the others — the two overlap — and afterwards
// recomputes the chunks that have no valid file. The prefix length k minimizes
//   max(T_recompute(first k), T_read(the other on-disk ones)) + T_recompute(the rest with no file)
// under linear cost models measured on the device:
//   T_read(n chunks, b bytes)            = n · read_fixed_s + b · read_s_per_byte
//   T_recompute(r runs, m chunks)        = r · recompute_fixed_s + m · recompute_s_per_chunk
// (a run is a maximal range of consecutive chunk indices: one forward pass). Pure function.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace odlm {

struct RestoreCostModel {
  double read_fixed_s = 2e-4;          // per file: open, request latency
  double read_s_per_byte = 1.0 / 7e8;  // ~0.7 GB/s
  double recompute_fixed_s = 5e-3;     // per forward pass
  double recompute_s_per_chunk = 0.2;  // per chunk of tokens

  double ReadSeconds(int64_t n_files, int64_t bytes) const;
  double RecomputeSeconds(std::span<const int32_t> chunks) const;  // chunks in ascending order
  std::string ToString() const;
};

struct MissingChunk {
  int32_t index = 0;
  bool on_disk = false;    // a file that should hold it exists
  int64_t disk_bytes = 0;  // its size when read
};

struct RestorePlan {
  std::vector<int32_t> recompute_first;  // ascending; computed while the reads run
  std::vector<int32_t> read;             // ascending
  std::vector<int32_t> recompute_after;  // ascending; no file: after the reads complete
  double predicted_s = 0;
};

// `missing` in ascending index order.
RestorePlan PlanRestore(std::span<const MissingChunk> missing, const RestoreCostModel& cost);

}  // namespace odlm
