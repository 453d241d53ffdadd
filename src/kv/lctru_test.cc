#include "kv/lctru.h"

#include <gtest/gtest.h>

namespace odlm {
namespace {

TEST(LctruTest, LeastTolerantFirstThenLeastRecentlyUsed) {
  const std::vector<EvictionCandidate> c = {
      {KvLevel::k2, 1, false},     // 0
      {KvLevel::k8, 9, false},     // 1
      {KvLevel::k4, 2, false},     // 2
      {KvLevel::k8, 3, false},     // 3
      {KvLevel::k8, 1, true},      // 4 pinned: never
      {KvLevel::kRaw, 50, false},  // 5 raw is heaviest
      {KvLevel::k4, 1, false},     // 6
  };
  EXPECT_EQ(LctruOrder(c), (std::vector<size_t>{5, 3, 1, 6, 2, 0}));
  EXPECT_TRUE(LctruOrder({}).empty());
}

}  // namespace
}  // namespace odlm
