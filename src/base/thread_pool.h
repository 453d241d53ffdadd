// base/thread_pool.h — a fixed set of worker threads for data-parallel loops.
//
// ParallelFor cuts [0, n) into contiguous chunks that the calling thread and the workers claim
// dynamically from an atomic counter. Nobody waits for a worker that has not started: if the OS
// has descheduled a worker (a shared, busy machine), the others take its chunks, so one slow
// thread cannot stall a forward pass. While all threads keep pace there is one chunk per thread
// (one long memory stream each); once the caller is left waiting on a slow one, loops are cut
// into four chunks per thread for a while, so the fast threads take over the slow one's share.
// Workers spin briefly on a generation counter before sleeping, so back-to-back loops (hundreds per
// generated token) cost microseconds each. One ParallelFor at a time per pool (callers are
// serialized by a mutex); a ParallelFor from inside a task runs inline on that thread.
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
  // Range boundaries are multiples of `grain` (the last range may be shorter). thread_index is in
  // [0, num_threads()) and no two concurrent calls share one, so it can index per-thread scratch.
  // Which thread gets which range is not fixed: results must not depend on it.
  void ParallelFor(int64_t n, const std::function<void(int, int64_t, int64_t)>& fn,
                   int64_t grain = 1);

 private:
  struct Job {
    const std::function<void(int, int64_t, int64_t)>* fn = nullptr;
    int64_t n = 0, grain = 1, chunk_grains = 1, n_chunks = 0;
    std::atomic<int64_t> next{0};   // next chunk to claim
    std::atomic<int64_t> done{0};   // chunks finished
    std::atomic<int> inside{0};     // workers currently touching this job
    std::atomic<bool> open{false};  // workers may still join
  };

  void WorkerLoop(int index);
  // Claims and runs chunks of the current job until none are left.
  void RunChunks(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mu_;      // serializes ParallelFor callers
  int fine_jobs_left_ = 0;  // loops still split finely after a stall (guarded by call_mu_)
  Job job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable wake_cv_;
};

// Number of hardware threads, at least 1.
int HardwareThreads();

}  // namespace odlm
