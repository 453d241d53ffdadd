// platform/clock.h — the one seam for time in code that expires or re-checks things.
//
// Production code asks a Clock (SteadyClock(): the monotonic clock); a test passes a ManualClock
// and advances it, so no test sleeps to see an interval pass, and a loaded machine cannot make
// one flaky. Code that only measures durations for reports keeps std::chrono.
//
// Thread-safety: NowNs may be called from any thread, and ManualClock::Advance too.
#pragma once

#include <atomic>
#include <cstdint>

namespace odlm {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds since an arbitrary origin.
  virtual int64_t NowNs() const = 0;
};

// The process's monotonic clock (std::chrono::steady_clock). Lives forever.
const Clock& SteadyClock();

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ns = 0) : now_ns_(start_ns) {}
  int64_t NowNs() const override { return now_ns_.load(std::memory_order_acquire); }
  void Advance(int64_t ns) { now_ns_.fetch_add(ns, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_ns_;
};

}  // namespace odlm
