// base/thread_pool.cc — dynamic-chunk worker pool (spin, then sleep).
#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "base/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ODLM_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define ODLM_CPU_RELAX() asm volatile("yield")
#else
#define ODLM_CPU_RELAX() ((void)0)
#endif

namespace odlm {
namespace {
thread_local bool tls_in_task = false;
// ~100 µs of pause instructions before an idle worker goes to sleep: long enough to catch the
// next loop of a forward pass, short enough not to burn a shared core between requests.
constexpr int kIdleSpins = 2000;
// While waiting for others' chunks, yield the core after this many spins (lets a descheduled
// worker that holds a chunk run on our core).
constexpr int kWaitSpinsBeforeYield = 200;
// Chunks per thread while balancing dynamically, and for how many loops after a stall.
constexpr int64_t kFineChunksPerThread = 4;
constexpr int kFineJobsAfterStall = 256;
// A wait shorter than this is a late wake-up, not a descheduled thread (a time slice is ms).
constexpr std::chrono::microseconds kStallWait{200};
}  // namespace

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks(int index) {
  Job& job = job_;
  tls_in_task = true;
  for (;;) {
    const int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.n_chunks) break;
    const int64_t begin = std::min(job.n, c * job.chunk_grains * job.grain);
    const int64_t end = std::min(job.n, (c + 1) * job.chunk_grains * job.grain);
    if (begin < end) (*job.fn)(index, begin, end);
    job.done.fetch_add(1, std::memory_order_acq_rel);
  }
  tls_in_task = false;
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kIdleSpins; ++spin) {
      ODLM_CPU_RELAX();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(sleep_mu_);
      wake_cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    // Join the job only while it is open; the caller closes it once every chunk is done and then
    // waits for those inside to leave, so the job's state stays valid while anyone reads it.
    job_.inside.fetch_add(1, std::memory_order_acq_rel);
    if (job_.open.load(std::memory_order_acquire) &&
        generation_.load(std::memory_order_acquire) == seen) {
      RunChunks(index);
    }
    job_.inside.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int, int64_t, int64_t)>& fn,
                             int64_t grain) {
  CHECK_GE(grain, 1);
  if (n <= 0) return;
  const int64_t n_grains = (n + grain - 1) / grain;
  if (n_threads_ == 1 || tls_in_task || n_grains == 1) {
    const bool nested = tls_in_task;
    tls_in_task = true;
    fn(0, 0, n);
    tls_in_task = nested;
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  // One contiguous chunk per thread while the threads keep pace (each streams one long run of
  // memory: measured ~4% faster decode than four chunks each); four per thread, claimed
  // dynamically, for a while after the caller was left waiting on a slow thread.
  const int64_t per_thread = fine_jobs_left_ > 0 ? kFineChunksPerThread : 1;
  if (fine_jobs_left_ > 0) --fine_jobs_left_;
  const int64_t target_chunks = std::min<int64_t>(n_grains, per_thread * n_threads_);
  Job& job = job_;
  job.fn = &fn;
  job.n = n;
  job.grain = grain;
  job.chunk_grains = (n_grains + target_chunks - 1) / target_chunks;
  job.n_chunks = (n_grains + job.chunk_grains - 1) / job.chunk_grains;
  job.next.store(0, std::memory_order_relaxed);
  job.done.store(0, std::memory_order_relaxed);
  job.open.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_cv_.notify_all();
  const auto start = std::chrono::steady_clock::now();
  RunChunks(0);
  const auto own_done = std::chrono::steady_clock::now();
  bool waited = false;
  for (int spin = 0; job.done.load(std::memory_order_acquire) < job.n_chunks; ++spin) {
    waited = true;
    if (spin < kWaitSpinsBeforeYield) {
      ODLM_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  if (waited && per_thread == 1) {
    // Left waiting for over half the time our own share took, and longer than a late wake-up
    // explains: a thread is slow (descheduled on a shared machine), so balance dynamically for
    // the next loops.
    const auto end = std::chrono::steady_clock::now();
    if ((end - own_done) * 2 > (own_done - start) && end - own_done > kStallWait)
      fine_jobs_left_ = kFineJobsAfterStall;
  }
  job.open.store(false, std::memory_order_release);
  for (int spin = 0; job.inside.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kWaitSpinsBeforeYield) {
      ODLM_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace odlm
