#include "kv/tolerance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace odlm {
namespace {

const KvChunkShape kShape{.n_layer = 22, .kv_dim = 256, .chunk_tokens = 16, .type = DType::kF16};

double Size(const std::vector<KvLevel>& levels) {
  double b = 0;
  for (KvLevel l : levels) b += static_cast<double>(kShape.compressed_bytes(l));
  return b;
}

TEST(ToleranceTest, ImportanceIsMeanOfPerTokenMeans) {
  const std::vector<float> sum = {4, 2, 0, 9};
  const std::vector<float> count = {4, 4, 0, 3};
  EXPECT_DOUBLE_EQ(ChunkImportance(sum, count), (1.0 + 0.5 + 0.0 + 3.0) / 4);
}

TEST(ToleranceTest, MeetsRatioAndKeepsMostAttendedPrecise) {
  std::vector<double> imp;
  for (int i = 0; i < 64; ++i) imp.push_back((i * 37) % 64);  // a permutation of 0..63
  const auto levels = ChooseKvLevels(imp, 0.7, kShape);
  ASSERT_EQ(levels.size(), imp.size());
  EXPECT_LE(Size(levels), 0.7 * 64 * kShape.compressed_bytes(KvLevel::k8));
  // Monotone: a more attended chunk is never less precise than a less attended one.
  for (size_t a = 0; a < imp.size(); ++a) {
    for (size_t b = 0; b < imp.size(); ++b) {
      if (imp[a] > imp[b]) {
        EXPECT_GE(KvLevelBits(levels[a]), KvLevelBits(levels[b]));
      }
    }
  }
  // Not everything fits precisely: something is 2-bit; the top chunk is the most precise.
  size_t top = 0;
  for (size_t i = 0; i < imp.size(); ++i) top = imp[i] > imp[top] ? i : top;
  for (KvLevel l : levels) EXPECT_GE(KvLevelBits(levels[top]), KvLevelBits(l));
  EXPECT_NE(std::count(levels.begin(), levels.end(), KvLevel::k2), 0);
}

TEST(ToleranceTest, OptimalAgainstBruteForceOverAllAssignments) {
  const std::vector<double> imp = {0.9, 0.05, 0.3, 0.02, 2.5, 0.4, 0.01};
  const KvLevel all[3] = {KvLevel::k8, KvLevel::k4, KvLevel::k2};
  for (double ratio : {0.6, 0.65, 0.7, 0.8, 0.95}) {
    const double limit = ratio * imp.size() * kShape.compressed_bytes(KvLevel::k8);
    double best = 1e30;
    std::vector<KvLevel> a(imp.size());
    for (int code = 0; code < 2187; ++code) {  // 3^7
      int c = code;
      double cost = 0;
      for (size_t i = 0; i < imp.size(); ++i, c /= 3) a[i] = all[c % 3];
      if (Size(a) > limit) continue;
      for (size_t i = 0; i < imp.size(); ++i) cost += imp[i] * KvLevelError(a[i]);
      best = std::min(best, cost);
    }
    const auto levels = ChooseKvLevels(imp, ratio, kShape);
    double cost = 0;
    for (size_t i = 0; i < imp.size(); ++i) cost += imp[i] * KvLevelError(levels[i]);
    EXPECT_LE(Size(levels), limit) << ratio;
    EXPECT_NEAR(cost, best, 1e-12) << ratio;
  }
}

TEST(ToleranceTest, SkewedAttentionBuysPrecisionForTheHeavyChunks) {
  // One chunk gets nearly all attention (an attention sink): it must be 8-bit.
  std::vector<double> imp(32, 0.01);
  imp[0] = 10.0;
  const auto levels = ChooseKvLevels(imp, 0.62, kShape);
  EXPECT_EQ(levels[0], KvLevel::k8);
  EXPECT_LE(Size(levels), 0.62 * 32 * kShape.compressed_bytes(KvLevel::k8));
}

// Keys weigh more than values: 4-bit keys with 2-bit values (k2) cost less than 4-bit of both
// would suggest by the value step alone, and every level below 8 bits costs far more than 8.
TEST(ToleranceTest, LevelErrorsFollowTheCodes) {
  EXPECT_EQ(KvLevelError(KvLevel::kRaw), 0.0);
  EXPECT_LT(KvLevelError(KvLevel::k8), KvLevelError(KvLevel::k4) / 10);
  EXPECT_LT(KvLevelError(KvLevel::k4), KvLevelError(KvLevel::k2));
  EXPECT_LT(KvLevelError(KvLevel::k2), 2 * KvLevelError(KvLevel::k4));
  EXPECT_DOUBLE_EQ(KvLevelError(KvLevel::k4), (kKvKeyErrorWeight + 1) / 15);
}

TEST(ToleranceTest, RatioExtremes) {
  std::vector<double> imp = {3, 1, 2};
  for (KvLevel l : ChooseKvLevels(imp, 1.0, kShape)) EXPECT_EQ(l, KvLevel::k8);
  for (KvLevel l : ChooseKvLevels(imp, 0.01, kShape)) EXPECT_EQ(l, KvLevel::k2);
  EXPECT_TRUE(ChooseKvLevels({}, 0.5, kShape).empty());
  // Equal importance: the split uses the budget (not all 2-bit when more fits).
  std::vector<double> flat(10, 0.0);
  const auto levels = ChooseKvLevels(flat, 0.8, kShape);
  EXPECT_GT(Size(levels), 10 * kShape.compressed_bytes(KvLevel::k2));
  EXPECT_LE(Size(levels), 0.8 * 10 * kShape.compressed_bytes(KvLevel::k8));
}

// Kept chunks (attention sinks, the newest tokens) stay 8-bit even when nobody attends to them;
// the others share what is left of the ratio, the most attended most precise.
TEST(ToleranceTest, KeptChunksStayEightBitWithinTheRatio) {
  std::vector<double> imp(40);
  for (int i = 0; i < 40; ++i) imp[i] = 1.0 + (i * 7) % 40;
  imp[0] = imp[39] = 0.0;                              // unattended, but kept
  const std::unique_ptr<bool[]> keep(new bool[40]());  // std::vector<bool> has no span
  keep[0] = keep[39] = true;
  const auto levels = ChooseKvLevels(imp, 0.7, kShape, {keep.get(), 40});
  EXPECT_EQ(levels[0], KvLevel::k8);
  EXPECT_EQ(levels[39], KvLevel::k8);
  EXPECT_LE(Size(levels), 0.7 * 40 * kShape.compressed_bytes(KvLevel::k8));
  for (int a = 1; a < 39; ++a) {
    for (int b = 1; b < 39; ++b) {
      if (imp[a] > imp[b]) {
        EXPECT_GE(KvLevelBits(levels[a]), KvLevelBits(levels[b]));
      }
    }
  }
  // Without the flags the two unattended chunks are the first to lose precision.
  const auto free_levels = ChooseKvLevels(imp, 0.7, kShape);
  EXPECT_EQ(free_levels[0], KvLevel::k2);
  // A ratio too small even for the kept chunks: they stay 8-bit, the rest 2-bit.
  const auto tiny = ChooseKvLevels(imp, 0.01, kShape, {keep.get(), 40});
  EXPECT_EQ(tiny[0], KvLevel::k8);
  EXPECT_EQ(tiny[39], KvLevel::k8);
  EXPECT_EQ(std::count(tiny.begin(), tiny.end(), KvLevel::k2), 38);
}

}  // namespace
}  // namespace odlm
