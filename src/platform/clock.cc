// platform/clock.cc — the steady clock behind SteadyClock() (see header).
#include "platform/clock.h"

#include <chrono>

namespace odlm {
namespace {

class SteadyClockImpl final : public Clock {
 public:
  int64_t NowNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const Clock& SteadyClock() {
  static const SteadyClockImpl* const clock = new SteadyClockImpl();  // never destroyed
  return *clock;
}

}  // namespace odlm
