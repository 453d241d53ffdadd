// kv/lctru.cc — LCTRU ordering (see header).
#include "kv/lctru.h"

#include <algorithm>

namespace odlm {
namespace {

// Bits per stored value: raw is the working type, above every quantized level.
int Precision(KvLevel level) { return level == KvLevel::kRaw ? 64 : KvLevelBits(level); }

}  // namespace

std::vector<size_t> LctruOrder(std::span<const EvictionCandidate> candidates) {
  std::vector<size_t> order;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].pinned) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int pa = Precision(candidates[a].level), pb = Precision(candidates[b].level);
    if (pa != pb) return pa > pb;
    return candidates[a].last_use < candidates[b].last_use;
  });
  return order;
}

}  // namespace odlm
