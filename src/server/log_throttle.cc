// server/log_throttle.cc — per-key warning rate limit (see header).
#include "server/log_throttle.h"

#include <algorithm>

namespace odlm::server {

bool LogThrottle::Allow(const std::string& key, Clock::time_point now, int64_t* suppressed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {  // forget the key logged longest ago
      auto stalest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
        return a.second.last_logged < b.second.last_logged;
      });
      entries_.erase(stalest);
    }
    entries_[key] = Entry{now, 0};
    *suppressed = 0;
    return true;
  }
  Entry& e = it->second;
  if (now - e.last_logged < interval_) {
    ++e.held;
    return false;
  }
  *suppressed = e.held;
  e.held = 0;
  e.last_logged = now;
  return true;
}

}  // namespace odlm::server
