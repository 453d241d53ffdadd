// kv/tolerance.cc — importance ranking and threshold selection (see header).
#include "kv/tolerance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/check.h"

namespace odlm {

double ChunkImportance(std::span<const float> received_sum, std::span<const float> received_count) {
  CHECK_EQ(received_sum.size(), received_count.size());
  if (received_sum.empty()) return 0.0;
  double total = 0;
  for (size_t i = 0; i < received_sum.size(); ++i) {
    if (received_count[i] > 0) total += received_sum[i] / received_count[i];
  }
  return total / static_cast<double>(received_sum.size());
}

double KvLevelError(KvLevel level) {
  if (level == KvLevel::kRaw) return 0.0;
  auto step = [](int bits) { return 1.0 / ((1 << bits) - 1); };
  return kKvKeyErrorWeight * step(KvLevelKeyBits(level)) + step(KvLevelValueBits(level));
}

std::vector<KvLevel> ChooseKvLevels(std::span<const double> importance, double ratio,
                                    const KvChunkShape& shape, std::span<const bool> keep) {
  const int64_t n = static_cast<int64_t>(importance.size());
  CHECK(keep.empty() || static_cast<int64_t>(keep.size()) == n);
  std::vector<KvLevel> levels(n, KvLevel::k8);
  if (n == 0 || ratio >= 1.0) return levels;
  auto kept = [&](int64_t i) { return !keep.empty() && keep[i]; };
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (kept(a) != kept(b)) return kept(a);  // kept chunks rank first: always within the top n8
    if (importance[a] != importance[b]) return importance[a] > importance[b];
    return a > b;
  });
  int64_t n_keep = 0;
  for (int64_t i = 0; i < n; ++i) n_keep += kept(i);
  // prefix[i]: importance of the i most important chunks.
  std::vector<double> prefix(n + 1, 0.0);
  for (int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + importance[order[i]];
  const double s8 = static_cast<double>(shape.compressed_bytes(KvLevel::k8));
  const double s4 = static_cast<double>(shape.compressed_bytes(KvLevel::k4));
  const double s2 = static_cast<double>(shape.compressed_bytes(KvLevel::k2));
  const double limit = ratio * s8 * static_cast<double>(n);
  const double e8 = KvLevelError(KvLevel::k8), e4 = KvLevelError(KvLevel::k4),
               e2 = KvLevelError(KvLevel::k2);
  int64_t best8 = n_keep, best4 = 0;
  double best_cost = -1, best_bytes = 0;
  for (int64_t n8 = n_keep; n8 <= n; ++n8) {
    for (int64_t n4 = 0; n8 + n4 <= n; ++n4) {
      const int64_t n2 = n - n8 - n4;
      const double bytes = n8 * s8 + n4 * s4 + n2 * s2;
      if (bytes > limit) break;  // more 4-bit only grows the size
      const double cost = e8 * prefix[n8] + e4 * (prefix[n8 + n4] - prefix[n8]) +
                          e2 * (prefix[n] - prefix[n8 + n4]);
      // Ties (e.g. all importances zero) go to the most precise split.
      const bool tie = best_cost >= 0 && std::abs(cost - best_cost) <= 1e-12 * (1 + best_cost);
      if (best_cost < 0 || (!tie && cost < best_cost) || (tie && bytes > best_bytes)) {
        best_cost = cost;
        best_bytes = bytes;
        best8 = n8;
        best4 = n4;
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    levels[order[i]] = i < best8 ? KvLevel::k8 : i < best8 + best4 ? KvLevel::k4 : KvLevel::k2;
  }
  return levels;
}

}  // namespace odlm
