// base/thread_pool.h — a fixed set of worker threads for data-parallel loops.
//
// ParallelFor splits [0, n) into contiguous ranges, one per thread (the calling thread takes
// part), and returns when all are done. Workers spin briefly on an atomic generation counter
// before sleeping, so back-to-back loops (one per matmul in a forward pass) cost microseconds,
// not a futex round-trip each. One ParallelFor at a time per pool: calls are serialized by a
// mutex; a ParallelFor from inside a worker's task runs inline (no nested parallelism).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace odlm {

class ThreadPool {
 public:
  // n_threads counts the calling thread: ThreadPool(1) runs everything inline.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return n_threads_; }

  // Calls fn(thread_index, begin, end) for disjoint ranges covering [0, n); blocks until done.
  // Ranges are multiples of `grain` long except the last.
  void ParallelFor(int64_t n, const std::function<void(int, int64_t, int64_t)>& fn,
                   int64_t grain = 1);

  // Calls fn(thread_index, n_threads) once on every thread; blocks until all return.
  void RunOnAll(const std::function<void(int, int)>& fn);

 private:
  void WorkerLoop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // serializes ParallelFor callers

  const std::function<void(int, int)>* task_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable wake_cv_;
};

// Number of hardware threads, at least 1.
int HardwareThreads();

}  // namespace odlm
