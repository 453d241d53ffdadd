#include "kv/restore_planner.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace odlm {
namespace {

std::vector<MissingChunk> OnDisk(int n, int64_t bytes) {
  std::vector<MissingChunk> m;
  for (int i = 0; i < n; ++i) m.push_back({i, true, bytes});
  return m;
}

TEST(RestorePlannerTest, FastDiskReadsEverything) {
  RestoreCostModel cost{.read_fixed_s = 1e-4,
                        .read_s_per_byte = 1e-9,
                        .recompute_fixed_s = 0.01,
                        .recompute_s_per_chunk = 0.2};
  const RestorePlan p = PlanRestore(OnDisk(10, 100000), cost);
  EXPECT_TRUE(p.recompute_first.empty());
  EXPECT_EQ(p.read.size(), 10u);
  EXPECT_NEAR(p.predicted_s, 10 * 1e-4 + 1e6 * 1e-9, 1e-9);
}

TEST(RestorePlannerTest, SlowDiskOverlapsARecomputedPrefix) {
  // Reading a chunk costs 0.1 s, recomputing 0.1 s + 0.01 s per pass: balance the two.
  RestoreCostModel cost{.read_fixed_s = 0.1,
                        .read_s_per_byte = 0,
                        .recompute_fixed_s = 0.01,
                        .recompute_s_per_chunk = 0.1};
  const RestorePlan p = PlanRestore(OnDisk(10, 1000), cost);
  EXPECT_EQ(p.recompute_first.size(), 5u);
  EXPECT_EQ(p.recompute_first.front(), 0);  // a prefix: it needs nothing that is being read
  EXPECT_EQ(p.read.front(), 5);
  EXPECT_NEAR(p.predicted_s, 0.51, 1e-9);
  // Chunks with no file always end up recomputed, after the reads.
  auto m = OnDisk(10, 1000);
  m[7].on_disk = false;
  const RestorePlan q = PlanRestore(m, cost);
  for (int32_t i : q.read) EXPECT_NE(i, 7);
  const bool first = std::count(q.recompute_first.begin(), q.recompute_first.end(), 7) != 0;
  const bool after = std::count(q.recompute_after.begin(), q.recompute_after.end(), 7) != 0;
  EXPECT_TRUE(first || after);
}

TEST(RestorePlannerTest, RecomputeCostCountsRuns) {
  RestoreCostModel cost{
      .read_fixed_s = 0, .read_s_per_byte = 0, .recompute_fixed_s = 1, .recompute_s_per_chunk = 10};
  const std::vector<int32_t> runs = {0, 1, 2, 5, 6, 9};
  EXPECT_DOUBLE_EQ(cost.RecomputeSeconds(runs), 3 * 1 + 6 * 10);
  EXPECT_DOUBLE_EQ(cost.RecomputeSeconds({}), 0);
}

}  // namespace
}  // namespace odlm
