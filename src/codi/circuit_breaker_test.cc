// Tests of the endpoint circuit breaker's state machine on a hand-driven clock: opening after
// consecutive failures, the cool-down, the single half-open probe, closing on its success, the
// doubling (capped) cool-down after failed probes, stragglers, Retry-After deferral.
#include "codi/circuit_breaker.h"

#include <gtest/gtest.h>

namespace odlm::codi {
namespace {

using Admission = CircuitBreaker::Admission;
using State = CircuitBreaker::State;

BreakerOptions Opts(int failures, double cooldown, double max_cooldown) {
  BreakerOptions o;
  o.failures_to_open = failures;
  o.cooldown_s = cooldown;
  o.max_cooldown_s = max_cooldown;
  return o;
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  CircuitBreaker b(Opts(3, 5, 60));
  EXPECT_EQ(b.Admit(0), Admission::kClosed);
  b.RecordFailure(Admission::kClosed, 0);
  b.RecordFailure(Admission::kClosed, 0);
  EXPECT_EQ(b.consecutive_failures(), 2);
  b.RecordSuccess(Admission::kClosed);  // a success in between: the count starts again
  EXPECT_EQ(b.consecutive_failures(), 0);
  b.RecordFailure(Admission::kClosed, 1);
  b.RecordFailure(Admission::kClosed, 1);
  EXPECT_EQ(b.state(1), State::kClosed);
  EXPECT_EQ(b.Admit(1), Admission::kClosed);
  b.RecordFailure(Admission::kClosed, 1);
  EXPECT_EQ(b.state(1), State::kOpen);
  EXPECT_EQ(b.times_opened(), 1);
  EXPECT_EQ(b.Admit(1), Admission::kNo);
  EXPECT_EQ(b.Admit(5.9), Admission::kNo);
  EXPECT_DOUBLE_EQ(b.ready_at(), 6);
}

TEST(CircuitBreakerTest, HalfOpenLetsOneProbeThroughAndItsSuccessCloses) {
  CircuitBreaker b(Opts(1, 5, 60));
  b.RecordFailure(b.Admit(0), 0);
  EXPECT_EQ(b.state(4.9), State::kOpen);
  EXPECT_EQ(b.state(5), State::kHalfOpen);
  EXPECT_EQ(b.Peek(5), Admission::kProbe);
  EXPECT_EQ(b.Admit(5), Admission::kProbe);
  EXPECT_EQ(b.Admit(5), Admission::kNo) << "one probe at a time";
  EXPECT_EQ(b.Peek(7), Admission::kNo);
  b.RecordSuccess(Admission::kProbe);
  EXPECT_EQ(b.state(7), State::kClosed);
  EXPECT_EQ(b.Admit(7), Admission::kClosed);
  EXPECT_EQ(b.Admit(7), Admission::kClosed);
  EXPECT_DOUBLE_EQ(b.cooldown_s(), 5);
}

TEST(CircuitBreakerTest, FailedProbesDoubleTheCooldownUpToTheCap) {
  CircuitBreaker b(Opts(2, 5, 18));
  b.RecordFailure(Admission::kClosed, 0);
  b.RecordFailure(Admission::kClosed, 0);  // open until 5
  double now = 5;
  for (double expected : {10.0, 18.0, 18.0}) {
    ASSERT_EQ(b.Admit(now), Admission::kProbe) << now;
    b.RecordFailure(Admission::kProbe, now);
    EXPECT_DOUBLE_EQ(b.cooldown_s(), expected);
    EXPECT_EQ(b.state(now + expected - 0.01), State::kOpen);
    EXPECT_EQ(b.Admit(now + expected - 0.01), Admission::kNo);
    now += expected;
  }
  EXPECT_EQ(b.times_opened(), 4);
  // Recovery resets the cool-down to the first one.
  ASSERT_EQ(b.Admit(now), Admission::kProbe);
  b.RecordSuccess(Admission::kProbe);
  EXPECT_DOUBLE_EQ(b.cooldown_s(), 5);
  b.RecordFailure(Admission::kClosed, now);
  b.RecordFailure(Admission::kClosed, now);
  EXPECT_DOUBLE_EQ(b.ready_at(), now + 5);
}

TEST(CircuitBreakerTest, StragglersDoNotDecideWhileOpen) {
  CircuitBreaker b(Opts(1, 5, 60));
  // Two requests admitted while closed; the first fails and opens the circuit.
  const Admission first = b.Admit(0), second = b.Admit(0);
  b.RecordFailure(first, 0);
  ASSERT_EQ(b.state(0), State::kOpen);
  b.RecordSuccess(second);  // late: the probe decides, not this
  EXPECT_EQ(b.state(1), State::kOpen);
  b.RecordFailure(Admission::kClosed, 2);  // another late one does not extend the cool-down
  EXPECT_DOUBLE_EQ(b.ready_at(), 5);
  EXPECT_EQ(b.times_opened(), 1);
}

TEST(CircuitBreakerTest, RequestsSentRegardlessCanOnlyClose) {
  CircuitBreaker b(Opts(1, 5, 60));
  b.RecordFailure(Admission::kClosed, 0);
  b.RecordFailure(Admission::kNo, 1);  // every endpoint was open: sent anyway, failed
  EXPECT_DOUBLE_EQ(b.ready_at(), 5);
  EXPECT_EQ(b.times_opened(), 1);
  b.RecordSuccess(Admission::kNo);  // ... and one answered: the endpoint is back
  EXPECT_EQ(b.state(1), State::kClosed);
  EXPECT_EQ(b.Admit(1), Admission::kClosed);
}

TEST(CircuitBreakerTest, RetryAfterDefersWithoutCounting) {
  CircuitBreaker b(Opts(2, 5, 60));
  b.Defer(10, 3);
  EXPECT_EQ(b.Admit(12.9), Admission::kNo);
  EXPECT_EQ(b.state(12.9), State::kClosed);
  EXPECT_EQ(b.consecutive_failures(), 0);
  EXPECT_EQ(b.Admit(13), Admission::kClosed);
  b.Defer(14, 1);
  b.Defer(14, 0.5);  // a shorter one does not shorten it
  EXPECT_DOUBLE_EQ(b.ready_at(), 15);
}

TEST(CircuitBreakerTest, StateNames) {
  EXPECT_STREQ(StateName(State::kClosed), "closed");
  EXPECT_STREQ(StateName(State::kOpen), "open");
  EXPECT_STREQ(StateName(State::kHalfOpen), "half-open");
}

}  // namespace
}  // namespace odlm::codi
