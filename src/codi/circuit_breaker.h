// codi/circuit_breaker.h — one teacher endpoint's health: a circuit breaker with per-endpoint
// backoff, so that a pool of replicas routes around one that is down.
//
// States:
//   closed     requests go; `failures_to_open` consecutive failures open the circuit for the
//              current cool-down (the first is `cooldown_s`).
//   open       no request goes until the cool-down ends.
//   half-open  the cool-down has ended: exactly one request (the probe) is let through; while it
//              is out, no other. The probe's success closes the circuit and resets the cool-down;
//              its failure opens it again for twice the last cool-down (at most `max_cooldown_s`)
//              — the endpoint's own exponential backoff.
// Results of requests admitted while the circuit was closed count only while it still is (a
// straggler that fails after the circuit opened changes nothing). A Retry-After from the endpoint
// (Defer) holds requests back until then without counting as a failure.
//
// Times are seconds on any monotonic clock, passed in (the tests drive it by hand). Not
// thread-safe: TeacherPool (codi/teacher.h) holds a lock around each breaker.
#pragma once

#include <string>

namespace odlm::codi {

struct BreakerOptions {
  int failures_to_open = 3;     // consecutive failures (≥ 1)
  double cooldown_s = 5;        // the first open period
  double max_cooldown_s = 120;  // cap of the doubling (below cooldown_s: cooldown_s)
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  // How a request was let through; its result is reported with the same value.
  enum class Admission { kNo, kClosed, kProbe };

  explicit CircuitBreaker(const BreakerOptions& options = {});

  // Whether a request may go at `now` (see above). kProbe takes the half-open state's one slot.
  Admission Admit(double now);
  // Admit without taking anything: what Admit(now) would return.
  Admission Peek(double now) const;

  // The result of a request admitted as `how` (kNo: a request sent regardless of the state, e.g.
  // when every endpoint's circuit is open; its success closes the circuit, its failure is
  // ignored).
  void RecordSuccess(Admission how);
  void RecordFailure(Admission how, double now);
  // Hold requests back until now + seconds (a 429/503's Retry-After); the state is unchanged.
  void Defer(double now, double seconds);

  State state(double now) const;
  int consecutive_failures() const { return failures_; }
  int times_opened() const { return times_opened_; }  // re-openings after a failed probe too
  double cooldown_s() const { return cooldown_; }     // the current (next) open period
  // When a request may go again (≤ now when it may go now, ignoring a probe in flight).
  double ready_at() const;

 private:
  void Open(double now);

  BreakerOptions o_;
  bool open_ = false;       // open or half-open
  bool probe_out_ = false;  // half-open: the probe is in flight
  int failures_ = 0;        // consecutive, while closed
  int times_opened_ = 0;
  double cooldown_;        // the open period in force (or next)
  double open_until_ = 0;  // open: when the cool-down ends
  double deferred_until_ = 0;
};

const char* StateName(CircuitBreaker::State s);

}  // namespace odlm::codi
