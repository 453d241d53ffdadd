// kv/restore_planner.cc — the read/recompute split (see header).
#include "kv/restore_planner.h"

#include <algorithm>
#include <cstdio>

#include "base/check.h"

namespace odlm {

double RestoreCostModel::ReadSeconds(int64_t n_files, int64_t bytes) const {
  return static_cast<double>(n_files) * read_fixed_s + static_cast<double>(bytes) * read_s_per_byte;
}

double RestoreCostModel::RecomputeSeconds(std::span<const int32_t> chunks) const {
  if (chunks.empty()) return 0.0;
  int64_t runs = 1;
  for (size_t i = 1; i < chunks.size(); ++i) runs += chunks[i] != chunks[i - 1] + 1;
  return static_cast<double>(runs) * recompute_fixed_s +
         static_cast<double>(chunks.size()) * recompute_s_per_chunk;
}

std::string RestoreCostModel::ToString() const {
  char buf[200];
  std::snprintf(buf, sizeof(buf),
                "read %.3f ms/file + %.3f GB/s; recompute %.2f ms/pass + %.2f ms/chunk",
                read_fixed_s * 1e3, read_s_per_byte > 0 ? 1e-9 / read_s_per_byte : 0.0,
                recompute_fixed_s * 1e3, recompute_s_per_chunk * 1e3);
  return buf;
}

RestorePlan PlanRestore(std::span<const MissingChunk> missing, const RestoreCostModel& cost) {
  for (size_t i = 1; i < missing.size(); ++i) CHECK_LT(missing[i - 1].index, missing[i].index);
  RestorePlan best;
  best.predicted_s = -1;
  const size_t n = missing.size();
  for (size_t k = 0; k <= n; ++k) {
    RestorePlan p;
    int64_t read_bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i < k) {
        p.recompute_first.push_back(missing[i].index);
      } else if (missing[i].on_disk) {
        p.read.push_back(missing[i].index);
        read_bytes += missing[i].disk_bytes;
      } else {
        p.recompute_after.push_back(missing[i].index);
      }
    }
    p.predicted_s = std::max(cost.RecomputeSeconds(p.recompute_first),
                             cost.ReadSeconds(static_cast<int64_t>(p.read.size()), read_bytes)) +
                    cost.RecomputeSeconds(p.recompute_after);
    if (best.predicted_s < 0 || p.predicted_s < best.predicted_s) best = std::move(p);
  }
  return best;
}

}  // namespace odlm
