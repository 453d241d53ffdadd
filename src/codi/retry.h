// codi/retry.h — retrying teacher calls: the backoff schedule, an interruptible sleep, and a call
// that retries until the teacher answers (for callers that take any answer; a conversation turn,
// which also re-asks after an invalid answer, runs its own loop on the same pieces:
// codi/conversation.h).
//
// Retries spread over the pool: each retry asks TeacherPool to avoid the endpoint the last attempt
// failed on while another one's circuit admits requests, so a replica that dies costs a retry,
// not an answer.
#pragma once

#include <atomic>

#include "codi/teacher.h"

namespace odlm::codi {

struct RetryPolicy {
  int max_attempts = 6;  // per turn, first try included
  double base_s = 1.0;   // delay before retry k (1-based): base * 2^(k-1), jittered to [d/2, d]
  double max_s = 60.0;   // cap of the computed delay (a Retry-After may exceed it, up to 600 s)
  // Teacher calls per turn to get the phenomenon the walk asked for (codi/phenomena.h), within
  // max_attempts; after that the last valid reply is kept, marked unverified. 1: no such retry.
  int phenomenon_attempts = 3;
};

// The delay before retry `retry` (1-based) under `p`; at least `retry_after_s` (capped at 600 s)
// when that is ≥ 0. Thread-safe (a jitter generator per thread).
double BackoffSeconds(const RetryPolicy& p, int retry, double retry_after_s);

// Sleeps `seconds`, waking early (false) when `stop` (may be null) is set; true after a full sleep.
bool SleepUnlessStopped(double seconds, const std::atomic<bool>* stop);

// Calls until the teacher answers (ok), gives a non-retryable failure, or `retry.max_attempts`
// calls have failed (or `stop` is set: the result then has reason "interrupted"). Returns the
// last result; `*attempts` (may be null) gets the number of calls made.
ChatResult CallWithRetries(TeacherSession* session, const ChatRequest& request,
                           const RetryPolicy& retry, const std::atomic<bool>* stop, int* attempts);

}  // namespace odlm::codi
