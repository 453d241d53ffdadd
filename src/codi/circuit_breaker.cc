// codi/circuit_breaker.cc — the endpoint health state machine (contract in circuit_breaker.h).
#include "codi/circuit_breaker.h"

#include <algorithm>

#include "base/check.h"

namespace odlm::codi {

CircuitBreaker::CircuitBreaker(const BreakerOptions& options)
    : o_(options), cooldown_(options.cooldown_s) {
  CHECK(o_.failures_to_open >= 1 && o_.cooldown_s >= 0);
  o_.max_cooldown_s = std::max(o_.max_cooldown_s, o_.cooldown_s);
}

CircuitBreaker::Admission CircuitBreaker::Peek(double now) const {
  if (now < deferred_until_) return Admission::kNo;
  if (!open_) return Admission::kClosed;
  if (now < open_until_ || probe_out_) return Admission::kNo;
  return Admission::kProbe;
}

CircuitBreaker::Admission CircuitBreaker::Admit(double now) {
  const Admission a = Peek(now);
  if (a == Admission::kProbe) probe_out_ = true;
  return a;
}

void CircuitBreaker::RecordSuccess(Admission how) {
  if (how == Admission::kClosed && open_) return;  // a straggler: the probe decides
  open_ = false;
  probe_out_ = false;
  failures_ = 0;
  cooldown_ = o_.cooldown_s;
}

void CircuitBreaker::RecordFailure(Admission how, double now) {
  switch (how) {
    case Admission::kClosed:
      if (open_) return;
      if (++failures_ >= o_.failures_to_open) Open(now);
      return;
    case Admission::kProbe:
      probe_out_ = false;
      cooldown_ = std::min(o_.max_cooldown_s, cooldown_ * 2);
      Open(now);
      return;
    case Admission::kNo:
      return;
  }
}

void CircuitBreaker::Open(double now) {
  open_ = true;
  failures_ = 0;
  open_until_ = now + cooldown_;
  ++times_opened_;
}

void CircuitBreaker::Defer(double now, double seconds) {
  deferred_until_ = std::max(deferred_until_, now + std::max(0.0, seconds));
}

CircuitBreaker::State CircuitBreaker::state(double now) const {
  if (!open_) return State::kClosed;
  return now < open_until_ ? State::kOpen : State::kHalfOpen;
}

double CircuitBreaker::ready_at() const {
  return std::max(deferred_until_, open_ ? open_until_ : 0.0);
}

const char* StateName(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half-open";
  }
  return "?";
}

}  // namespace odlm::codi
