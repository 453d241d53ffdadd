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

// While the threads keep pace a loop is one chunk per thread; after the caller was left waiting
// on a slow worker, loops are cut finer so that the caller can take over the slow one's share.
// (Counts chunks, which do not depend on who runs them: no timing is asserted.)
TEST(ThreadPoolTest, SplitsFinerAfterAStall) {
  ThreadPool pool(2);
  auto chunks_of_a_loop = [&] {
    std::atomic<int> calls{0};
    pool.ParallelFor(64, [&](int, int64_t, int64_t) { calls.fetch_add(1); });
    return calls.load();
  };
  EXPECT_EQ(chunks_of_a_loop(), 2);
  bool finer = false;
  for (int attempt = 0; attempt < 50 && !finer; ++attempt) {
    // The caller's chunk takes 0.3 ms (time for the worker to wake and claim the other); the
    // worker's takes 5 ms.
    pool.ParallelFor(64, [&](int t, int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(t == 0 ? 300 : 5000));
    });
    finer = chunks_of_a_loop() > 2;
  }
  EXPECT_TRUE(finer);
}

}  // namespace
}  // namespace odlm
