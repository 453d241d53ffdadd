// codi/retry.cc — backoff and retried teacher calls (contract in retry.h).
#include "codi/retry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

namespace odlm::codi {

double BackoffSeconds(const RetryPolicy& p, int retry, double retry_after_s) {
  thread_local std::mt19937_64 jitter(std::random_device{}());
  const double d = std::min(p.max_s, p.base_s * std::ldexp(1.0, retry - 1));
  const double jittered = d * (0.5 + 0.5 * std::uniform_real_distribution<double>(0, 1)(jitter));
  return retry_after_s >= 0 ? std::max(jittered, std::min(retry_after_s, 600.0)) : jittered;
}

bool SleepUnlessStopped(double seconds, const std::atomic<bool>* stop) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (stop && stop->load()) return false;
    const std::chrono::steady_clock::duration left =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            end - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
  }
  return !(stop && stop->load());
}

ChatResult CallWithRetries(TeacherSession* session, const ChatRequest& request,
                           const RetryPolicy& retry, const std::atomic<bool>* stop, int* attempts) {
  ChatResult r;
  int calls = 0, avoid = -1;
  for (int attempt = 1; attempt <= retry.max_attempts; ++attempt) {
    if (stop && stop->load()) break;
    r = session->Call(request, avoid);
    ++calls;
    if (r.ok || !r.retryable) break;
    avoid = r.endpoint;
    if (attempt < retry.max_attempts &&
        !SleepUnlessStopped(BackoffSeconds(retry, attempt, r.retry_after_s), stop)) {
      break;
    }
  }
  if (!r.ok && stop && stop->load()) {
    r.reason = "interrupted";
    r.retryable = false;
  }
  if (attempts) *attempts = calls;
  return r;
}

}  // namespace odlm::codi
