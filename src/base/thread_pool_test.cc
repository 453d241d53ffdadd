#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace odlm {
namespace {

TEST(ThreadPoolTest, ParallelForCoversRangeOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 64, 1000}) {
      for (int64_t grain : {1, 4, 32}) {
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(
            n,
            [&](int, int64_t b, int64_t e) {
              EXPECT_TRUE(b % grain == 0);
              for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
            },
            grain);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n;
      }
    }
  }
}

TEST(ThreadPoolTest, ManyBackToBackCallsAndNesting) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int iter = 0; iter < 2000; ++iter) {
    pool.ParallelFor(10, [&](int, int64_t b, int64_t e) {
      // A nested call runs inline on the calling worker.
      pool.ParallelFor(e - b, [&](int, int64_t b2, int64_t e2) { sum.fetch_add(e2 - b2); });
    });
  }
  EXPECT_EQ(sum.load(), 2000 * 10);
}

TEST(ThreadPoolTest, ASlowThreadDoesNotLoseOrRepeatWork) {
  ThreadPool pool(3);
  for (int iter = 0; iter < 20; ++iter) {
    std::vector<std::atomic<int>> hits(97);
    std::atomic<int> concurrent_ids{0};
    std::vector<std::atomic<int>> busy(3);
    pool.ParallelFor(
        97,
        [&](int t, int64_t b, int64_t e) {
          // No two running ranges share a thread index.
          if (busy[t].fetch_add(1) != 0) concurrent_ids.fetch_add(1);
          if (t == 1) std::this_thread::sleep_for(std::chrono::microseconds(300));
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
          busy[t].fetch_sub(1);
        },
        3);
    EXPECT_EQ(concurrent_ids.load(), 0);
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

}  // namespace
}  // namespace odlm
