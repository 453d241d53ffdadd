#include "server/log_throttle.h"

#include <gtest/gtest.h>

namespace odlm::server {
namespace {

using std::chrono::seconds;

TEST(LogThrottleTest, OncePerIntervalPerKeyAndCountsWhatItHeldBack) {
  LogThrottle t(seconds(10));
  const auto t0 = LogThrottle::Clock::time_point{} + seconds(1000);
  int64_t held = -1;
  EXPECT_TRUE(t.Allow("uid 1000", t0, &held));
  EXPECT_EQ(held, 0);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(t.Allow("uid 1000", t0 + seconds(i), &held));
  // Another key is independent.
  EXPECT_TRUE(t.Allow("uid 1001", t0 + seconds(1), &held));
  EXPECT_EQ(held, 0);
  EXPECT_TRUE(t.Allow("uid 1000", t0 + seconds(10), &held));
  EXPECT_EQ(held, 5);
  EXPECT_FALSE(t.Allow("uid 1000", t0 + seconds(11), &held));
  EXPECT_TRUE(t.Allow("uid 1000", t0 + seconds(25), &held));
  EXPECT_EQ(held, 1);
}

TEST(LogThrottleTest, BoundedKeysForgetTheStalest) {
  LogThrottle t(seconds(10), /*max_keys=*/2);
  const auto t0 = LogThrottle::Clock::time_point{} + seconds(1000);
  int64_t held = 0;
  EXPECT_TRUE(t.Allow("a", t0, &held));
  EXPECT_TRUE(t.Allow("b", t0 + seconds(1), &held));
  EXPECT_TRUE(t.Allow("c", t0 + seconds(2), &held));  // "a" forgotten
  EXPECT_FALSE(t.Allow("b", t0 + seconds(3), &held));
  EXPECT_TRUE(t.Allow("a", t0 + seconds(4), &held)) << "a new key again";
}

}  // namespace
}  // namespace odlm::server
