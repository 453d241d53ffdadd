// base/thread_pool.cc — spin-then-sleep worker pool.
#include "base/thread_pool.h"

#include <algorithm>

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
thread_local bool tls_in_worker_task = false;
constexpr int kSpinIterations = 20000;
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

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
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
    tls_in_worker_task = true;
    (*task_)(index, n_threads_);
    tls_in_worker_task = false;
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::RunOnAll(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1 || tls_in_worker_task) {
    // Inline: a nested call from a task, or no workers.
    for (int i = 0; i < (tls_in_worker_task ? 1 : n_threads_); ++i)
      fn(i, tls_in_worker_task ? 1 : n_threads_);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  task_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_cv_.notify_all();
  tls_in_worker_task = true;
  fn(0, n_threads_);
  tls_in_worker_task = false;
  while (pending_.load(std::memory_order_acquire) != 0) ODLM_CPU_RELAX();
  task_ = nullptr;
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int, int64_t, int64_t)>& fn,
                             int64_t grain) {
  CHECK_GE(grain, 1);
  if (n <= 0) return;
  const int64_t n_grains = (n + grain - 1) / grain;
  if (n_threads_ == 1 || tls_in_worker_task || n_grains == 1) {
    fn(0, 0, n);
    return;
  }
  RunOnAll([&](int t, int nt) {
    const int64_t per = n_grains / nt, extra = n_grains % nt;
    const int64_t g0 = t * per + std::min<int64_t>(t, extra);
    const int64_t g1 = g0 + per + (t < extra ? 1 : 0);
    const int64_t begin = std::min(n, g0 * grain), end = std::min(n, g1 * grain);
    if (begin < end) fn(t, begin, end);
  });
}

}  // namespace odlm
