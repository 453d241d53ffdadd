// Tests of the teacher client against a real loopback HTTP server (the fake teacher): URL parsing,
// request shape, error classification (5xx, 429 + Retry-After, 4xx, timeouts, garbage, empty),
// bearer keys, least-outstanding balancing, rate limiting; the pool's per-endpoint health (circuits
// opened by a dead endpoint, probes, Retry-After deferral, retries that avoid the failed endpoint).
#include "codi/teacher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "codi/fake_teacher.h"
#include "codi/retry.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

TEST(TeacherTest, ParsesUrls) {
  std::string base, path;
  ASSERT_TRUE(ParseTeacherUrl("http://127.0.0.1:8080", &base, &path).ok());
  EXPECT_EQ(base, "http://127.0.0.1:8080");
  EXPECT_EQ(path, "/v1/chat/completions");
  ASSERT_TRUE(ParseTeacherUrl("https://api.example.com/openai/v1/", &base, &path).ok());
  EXPECT_EQ(base, "https://api.example.com");
  EXPECT_EQ(path, "/openai/v1/chat/completions");
  ASSERT_TRUE(ParseTeacherUrl("http://h:1/v1/chat/completions", &base, &path).ok());
  EXPECT_EQ(path, "/v1/chat/completions");
  EXPECT_FALSE(ParseTeacherUrl("127.0.0.1:8080", &base, &path).ok());
  EXPECT_FALSE(ParseTeacherUrl("ftp://h", &base, &path).ok());
  EXPECT_FALSE(ParseTeacherUrl("http://h:99999", &base, &path).ok());
  EXPECT_FALSE(ParseTeacherUrl("http://", &base, &path).ok());
}

TEST(TeacherTest, InterpretsReplies) {
  auto r = InterpretReply(
      200, "",
      R"({"choices":[{"message":{"content":"Hi"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content, "Hi");
  EXPECT_EQ(r.prompt_tokens, 5);
  r = InterpretReply(429, "7", "{}");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.reason, "http_429");
  EXPECT_DOUBLE_EQ(r.retry_after_s, 7);
  EXPECT_TRUE(InterpretReply(503, "", "").retryable);
  EXPECT_FALSE(InterpretReply(400, "", "").retryable);
  EXPECT_FALSE(InterpretReply(401, "", "").retryable);
  EXPECT_EQ(InterpretReply(200, "", "not json").reason, "bad_json");
  EXPECT_TRUE(InterpretReply(200, "", "not json").retryable);
  EXPECT_EQ(InterpretReply(200, "", R"({"choices":[{"message":{"content":null}}]})").reason,
            "no_content");
  EXPECT_EQ(InterpretReply(200, "", R"({"choices":[]})").reason, "bad_json");
}

TEST(TeacherTest, RequestShapeAndFaultClassification) {
  FakeTeacher fake;
  TeacherOptions o;
  o.urls = {fake.url()};
  o.model = "teacher-70b";
  o.request_timeout_s = 0.4;
  auto pool = TeacherPool::Create(o);
  ASSERT_TRUE(pool.ok());
  TeacherSession s(pool->get());
  ChatRequest req;
  req.system = "be brief";
  req.user = "Document:\nThe mill was built in 1820.\n\nWrite only the answer.";
  req.max_tokens = 20;
  req.seed = 99;
  auto r = s.Call(req);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.content, FakeTeacher::Reply(req.user, 99));
  EXPECT_GT(r.prompt_tokens, 0);
  const json body = json::parse(fake.bodies().back());
  EXPECT_EQ(body["model"], "teacher-70b");
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["content"], req.user);
  EXPECT_EQ(body["max_tokens"], 20);
  EXPECT_EQ(body["seed"], 99);

  fake.Inject({{Fault::kHttp, 503},
               {Fault::kHttp, 429, 3},
               {Fault::kHttp, 400},
               {Fault::kGarbage},
               {Fault::kEmpty},
               {Fault::kDelay, 0, -1, 1.0}});
  r = s.Call(req);
  EXPECT_EQ(r.reason, "http_503");
  EXPECT_TRUE(r.retryable);
  r = s.Call(req);
  EXPECT_EQ(r.reason, "http_429");
  EXPECT_DOUBLE_EQ(r.retry_after_s, 3);
  r = s.Call(req);
  EXPECT_EQ(r.reason, "http_400");
  EXPECT_FALSE(r.retryable);
  r = s.Call(req);
  EXPECT_EQ(r.reason, "bad_json");
  r = s.Call(req);  // empty content is a valid reply; the turn check rejects it
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content, "");
  r = s.Call(req);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_TRUE(r.retryable);
  // The session recovers after a timed-out connection.
  r = s.Call(req);
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST(TeacherTest, ConnectionRefusedIsRetryable) {
  int port;
  {
    FakeTeacher gone;
    port = gone.port();
  }
  TeacherOptions o;
  o.urls = {"http://127.0.0.1:" + std::to_string(port)};
  o.model = "m";
  o.connect_timeout_s = 1;
  auto pool = TeacherPool::Create(o);
  TeacherSession s(pool->get());
  auto r = s.Call({});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection");
  EXPECT_TRUE(r.retryable);
}

TEST(TeacherTest, BearerKey) {
  FakeTeacher fake;
  fake.RequireKey("sk-test");
  TeacherOptions o;
  o.urls = {fake.url()};
  o.model = "m";
  auto pool = TeacherPool::Create(o);
  ChatRequest req;
  req.user = "Document:\nx y z\n\nWrite only the answer.";
  EXPECT_EQ(TeacherSession(pool->get()).Call(req).reason, "http_401");
  o.api_key = "sk-test";
  auto keyed = TeacherPool::Create(o);
  EXPECT_TRUE(TeacherSession(keyed->get()).Call(req).ok);
}

TEST(TeacherTest, LeastOutstandingBalancesSlowAndFastEndpoints) {
  FakeTeacher fast, slow;
  slow.SetLatency(0.2);
  TeacherOptions o;
  o.urls = {fast.url(), slow.url()};
  o.model = "m";
  auto pool = TeacherPool::Create(o);
  ASSERT_TRUE(pool.ok());
  // Acquire/Release bookkeeping.
  const auto a = (*pool)->Acquire();
  const auto b = (*pool)->Acquire();
  EXPECT_NE(a.endpoint, b.endpoint);
  const auto c = (*pool)->Acquire();  // both have 1: either
  for (const auto& l : {a, b, c}) (*pool)->Release(l, false, false, -1);
  // 4 threads x 10 requests: the fast endpoint takes most of them.
  ChatRequest req;
  req.user = "Document:\nx y z\n\nWrite only the answer.";
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      TeacherSession s(pool->get());
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(s.Call(req).ok);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fast.requests() + slow.requests(), 40);
  EXPECT_GT(fast.requests(), 3 * slow.requests()) << fast.requests() << " vs " << slow.requests();
  EXPECT_GE(slow.requests(), 1);
}

// A loopback URL nothing listens on (a fake teacher's port, after it stopped).
std::string DeadUrl() {
  FakeTeacher gone;
  return gone.url();
}

// A pool over `urls` whose breakers open after `failures_to_open` failures for `cooldown_s`.
TeacherOptions PoolOptions(std::vector<std::string> urls, int failures_to_open, double cooldown_s) {
  TeacherOptions o;
  o.urls = std::move(urls);
  o.model = "m";
  o.connect_timeout_s = 1;
  o.breaker.failures_to_open = failures_to_open;
  o.breaker.cooldown_s = cooldown_s;
  return o;
}

ChatRequest AnswerRequest() {
  ChatRequest req;
  req.user = "Document:\nx y z\n\nWrite only the answer.";
  return req;
}

TEST(TeacherPoolTest, AnOpenCircuitTakesADeadEndpointOutOfThePool) {
  FakeTeacher live;
  // Opens after 2 failures; no probe during the test.
  auto pool = TeacherPool::Create(PoolOptions({DeadUrl(), live.url()}, 2, 3600));
  ASSERT_TRUE(pool.ok());
  TeacherSession s(pool->get());
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    const ChatResult r = s.Call(AnswerRequest());
    if (!r.ok) {
      EXPECT_EQ(r.endpoint, 0);
      EXPECT_EQ(r.reason, "connection");
      ++failed;
    }
  }
  const auto stats = (*pool)->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(stats[0].requests, 2u) << "requests went to the dead endpoint after its circuit opened";
  EXPECT_EQ(stats[0].failures, 2u);
  EXPECT_EQ(stats[0].times_opened, 1);
  EXPECT_EQ(stats[0].state, CircuitBreaker::State::kOpen);
  EXPECT_EQ(stats[1].requests, 18u);
  EXPECT_EQ(stats[1].failures, 0u);
  EXPECT_EQ(stats[1].state, CircuitBreaker::State::kClosed);
  EXPECT_EQ(live.requests(), 18);
}

TEST(TeacherPoolTest, WhenEveryCircuitIsOpenRequestsStillGo) {
  auto pool = TeacherPool::Create(PoolOptions({DeadUrl()}, 1, 3600));
  TeacherSession s(pool->get());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.Call(AnswerRequest()).reason, "connection");
  const auto stats = (*pool)->Stats();
  EXPECT_EQ(stats[0].requests, 3u);
  EXPECT_EQ(stats[0].failures, 3u);
  EXPECT_EQ(stats[0].times_opened, 1);  // failures of requests sent regardless do not re-open it
}

TEST(TeacherPoolTest, AProbeAfterTheCooldownClosesARecoveredEndpoint) {
  FakeTeacher flaky, steady;
  flaky.Inject({{Fault::kHttp, 503}, {Fault::kHttp, 503}});
  // Cool-down 0: half-open at once, the next request to it is the probe.
  auto pool = TeacherPool::Create(PoolOptions({flaky.url(), steady.url()}, 2, 0));
  TeacherSession s(pool->get());
  // Route by hand: each call avoids the steady endpoint, so the flaky one takes them all.
  EXPECT_EQ(s.Call(AnswerRequest(), 1).reason, "http_503");
  EXPECT_EQ(s.Call(AnswerRequest(), 1).reason, "http_503");
  EXPECT_EQ((*pool)->Stats()[0].times_opened, 1);
  const auto lease = (*pool)->Acquire(1);
  EXPECT_EQ(lease.endpoint, 0);
  EXPECT_EQ(lease.how, CircuitBreaker::Admission::kProbe);
  const auto other = (*pool)->Acquire(1);  // the probe is out: the flaky endpoint admits no other
  EXPECT_EQ(other.endpoint, 1);
  (*pool)->Release(other, false, false, -1);
  (*pool)->Release(lease, false, false, -1);  // the probe answered
  EXPECT_EQ((*pool)->Stats()[0].state, CircuitBreaker::State::kClosed);
  const ChatResult r = s.Call(AnswerRequest(), 1);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.endpoint, 0);
}

TEST(TeacherPoolTest, RetryAfterHoldsBackOneEndpointOnly) {
  FakeTeacher busy, free_one;
  busy.Inject({{Fault::kHttp, 429, 3600}});
  auto pool = TeacherPool::Create(PoolOptions({busy.url(), free_one.url()}, 3, 5));
  TeacherSession s(pool->get());
  const ChatResult r = s.Call(AnswerRequest(), 1);
  EXPECT_EQ(r.reason, "http_429");
  EXPECT_DOUBLE_EQ(r.retry_after_s, -1) << "another endpoint can take the retry now";
  for (int i = 0; i < 6; ++i) EXPECT_EQ(s.Call(AnswerRequest()).endpoint, 1);
  EXPECT_EQ((*pool)->Stats()[0].state, CircuitBreaker::State::kClosed);
  EXPECT_EQ(busy.requests(), 1);
}

TEST(TeacherPoolTest, RetriesAvoidTheEndpointTheyFailedOn) {
  FakeTeacher live;
  // The circuit never opens: only the avoidance keeps retries off the dead endpoint.
  auto pool = TeacherPool::Create(PoolOptions({DeadUrl(), live.url()}, 1000, 5));
  TeacherSession s(pool->get());
  RetryPolicy retry;
  retry.max_attempts = 2;
  retry.base_s = 0.001;
  int total = 0;
  for (int i = 0; i < 10; ++i) {
    int attempts = 0;
    const ChatResult r = CallWithRetries(&s, AnswerRequest(), retry, nullptr, &attempts);
    ASSERT_TRUE(r.ok) << r.detail;
    EXPECT_EQ(r.endpoint, 1);
    total += attempts;
  }
  EXPECT_EQ(live.requests(), 10);
  EXPECT_EQ(static_cast<uint64_t>(total - 10), (*pool)->Stats()[0].requests);
  // Attempts run out and a non-retryable failure stops at once.
  live.FaultEvery(1, {Fault::kHttp, 400});
  int attempts = 0;
  EXPECT_EQ(CallWithRetries(&s, AnswerRequest(), retry, nullptr, &attempts).reason, "http_400");
  EXPECT_LE(attempts, 2);
  std::atomic<bool> stop{true};
  EXPECT_EQ(CallWithRetries(&s, AnswerRequest(), retry, &stop, &attempts).reason, "interrupted");
  EXPECT_EQ(attempts, 0);
}

TEST(TeacherTest, RateLimit) {
  FakeTeacher fake;
  TeacherOptions o;
  o.urls = {fake.url()};
  o.model = "m";
  o.max_requests_per_s = 50;
  auto pool = TeacherPool::Create(o);
  TeacherSession s(pool->get());
  ChatRequest req;
  req.user = "Document:\nx y z\n\nWrite only the answer.";
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(s.Call(req).ok);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(secs, 0.19);  // 10 intervals of 20 ms (a lower bound: a busy machine only adds)
}

}  // namespace
}  // namespace odlm::codi
