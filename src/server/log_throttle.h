// server/log_throttle.h — lets a repeated warning through at most once per interval per key, and
// says how many were held back in between, so that a peer hammering the service cannot flood its
// log (one line per refused connection) while the first refusal and the volume stay visible.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace odlm::server {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  // `max_keys` bounds the memory: past it, the stalest keys are forgotten.
  explicit LogThrottle(Clock::duration interval, size_t max_keys = 1024)
      : interval_(interval), max_keys_(max_keys) {}

  // True when a message for `key` may be logged at `now`; *suppressed is then how many messages
  // for that key were held back since the last one logged. Thread-safe.
  bool Allow(const std::string& key, Clock::time_point now, int64_t* suppressed);

 private:
  struct Entry {
    Clock::time_point last_logged;
    int64_t held = 0;
  };
  const Clock::duration interval_;
  const size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace odlm::server
