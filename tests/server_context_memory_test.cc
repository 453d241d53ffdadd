// End-to-end tests of `odlm serve` with persistent contexts under a ContextMemory budget
// (--kv-budget / --kv-policy / --swap-dir): a real server process, several contexts answering in
// turn under a budget that holds only part of their KV, compared with a server that keeps every
// context's KV resident.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>

#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

constexpr int kContexts = 4;
constexpr int kTurns = 3;

// A gauge's value from the Prometheus text (-1 when absent).
double Gauge(const std::string& text, const std::string& name) { return MetricValue(text, name); }

struct Transcript {
  std::vector<std::string> replies;  // [context * kTurns + turn]
  double max_stored = -1;            // odlm_kv_context_stored_bytes, the most seen (-1: none)
  double max_kv = -1;                // odlm_kv_memory_bytes, the most seen
  double max_kv_not_working = -1;    // the same less odlm_kv_context_working_bytes
  double max_working = 0;            // odlm_kv_context_working_bytes between calls
  int64_t min_cached_after_reply = INT64_MAX;  // GET context's cached_tokens right after a reply
  int64_t reused = 0;                          // reused prompt tokens over all turns
  double evictions = -1;                       // odlm_kv_evictions_total after the last turn
};

// Creates kContexts contexts and lets them answer kTurns messages each, round robin (every turn
// switches context), greedily; reads /metrics after every turn.
Transcript Converse(ServerProcess& server) {
  Transcript t;
  t.replies.resize(kContexts * kTurns);
  auto c = server.Client();
  std::vector<std::string> ids;
  for (int i = 0; i < kContexts; ++i) {
    const json body = {{"system", "You are assistant number " + std::to_string(i) + "."}};
    const json r = BodyJson(c.Post("/v1/contexts", body.dump(), "application/json"));
    EXPECT_TRUE(r.contains("id")) << r.dump();
    ids.push_back(r.value("id", ""));
  }
  for (int turn = 0; turn < kTurns; ++turn) {
    for (int i = 0; i < kContexts; ++i) {
      const json body = {
          {"content", "Message " + std::to_string(turn) + " for context " + std::to_string(i) +
                          ": tell me something about the number " + std::to_string(i * 7 + turn)},
          {"max_tokens", 12},
          {"temperature", 0},
          {"ignore_eos", true}};
      auto r = c.Post("/v1/contexts/" + ids[i] + "/messages", body.dump(), "application/json");
      EXPECT_TRUE(r);
      if (!r) continue;
      EXPECT_EQ(r->status, 200) << r->body;
      const json j = BodyJson(r);
      t.replies[i * kTurns + turn] = j.value("reply", "");
      if (j.contains("usage")) t.reused += j["usage"].value("reused_tokens", 0);
      const std::string metrics = c.Get("/metrics")->body;
      t.max_stored = std::max(t.max_stored, Gauge(metrics, "odlm_kv_context_stored_bytes"));
      const double kv = Gauge(metrics, "odlm_kv_memory_bytes");
      const double working = std::max(0.0, Gauge(metrics, "odlm_kv_context_working_bytes"));
      t.max_kv = std::max(t.max_kv, kv);
      t.max_kv_not_working = std::max(t.max_kv_not_working, kv - working);
      t.max_working = std::max(t.max_working, working);
      // The context that just answered: how much of its KV is in memory.
      const json info = BodyJson(c.Get("/v1/contexts/" + ids[i]));
      const int64_t cached = info.value("cached_tokens", int64_t{-1});
      EXPECT_GE(cached, 0) << info.dump();
      t.min_cached_after_reply = std::min(t.min_cached_after_reply, cached);
    }
  }
  t.evictions = Gauge(c.Get("/metrics")->body, "odlm_kv_evictions_total");
  // Deleting a context deletes its KV too (stored bytes drop).
  for (const std::string& id : ids) {
    EXPECT_EQ(c.Delete("/v1/contexts/" + id)->status, 200);
  }
  const std::string metrics = c.Get("/metrics")->body;
  const double stored_after = Gauge(metrics, "odlm_kv_context_stored_bytes");
  if (stored_after >= 0) {
    EXPECT_EQ(stored_after, 0) << "deleted contexts left KV behind";
  }
  return t;
}

class ServerContextMemoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_ = GenerateSmallModel(dir_->path());
    ServerProcess resident;
    ASSERT_TRUE(resident.Start({"-m", model_, "--threads", "2"}));
    reference_ = new Transcript(Converse(resident));
    EXPECT_EQ(reference_->max_stored, -1) << "no context memory without --kv-* flags";
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete dir_;
  }
  // A budget below what the contexts' KV needs in fp16: each context's KV (about 60 tokens by
  // its last turn at 256 bytes per token for the small model) is ~15 KiB; four need ~60 KiB.
  static constexpr double kBudgetMiB = 0.02;  // 20 KiB
  static constexpr double kBudgetBytes = kBudgetMiB * 1048576.0;

  void ExpectSameAsResident(const Transcript& t) {
    ASSERT_EQ(t.replies.size(), reference_->replies.size());
    for (size_t i = 0; i < t.replies.size(); ++i) {
      EXPECT_FALSE(t.replies[i].empty());
      EXPECT_EQ(t.replies[i], reference_->replies[i])
          << "context " << i / kTurns << " turn " << i % kTurns;
    }
  }
  // The budget was binding (KV was evicted) and the stored KV never exceeded it. Between calls
  // the KV in memory is the stored KV (no stateless requests: only contexts' KV) and, unless
  // `strict`, the working cache llms keeps warm for the context that answered last.
  void ExpectWithinBudget(const Transcript& t, bool strict = true) {
    EXPECT_GT(t.evictions, 0) << "the budget never forced an eviction: the test proves nothing";
    EXPECT_GE(t.max_stored, 0);
    EXPECT_LE(t.max_stored, kBudgetBytes);
    EXPECT_LE(t.max_kv_not_working, kBudgetBytes);
    if (strict) {
      EXPECT_LE(t.max_kv, kBudgetBytes);
      EXPECT_EQ(t.max_working, 0);
    } else {
      EXPECT_GT(t.max_working, 0) << "llms keeps the last context's working cache warm";
    }
  }

  static TempDir* dir_;
  static std::string model_;
  static Transcript* reference_;
};
TempDir* ServerContextMemoryTest::dir_ = nullptr;
std::string ServerContextMemoryTest::model_;
Transcript* ServerContextMemoryTest::reference_ = nullptr;

TEST_F(ServerContextMemoryTest, SwapPolicyUnderBudgetAnswersAsResident) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2", "--kv-policy", "swap", "--kv-budget",
                            std::to_string(kBudgetMiB), "--swap-dir", dir_->path() + "/swap"}));
  const Transcript t = Converse(server);
  ExpectSameAsResident(t);
  ExpectWithinBudget(t);
  EXPECT_GT(t.reused, 0) << "restored contexts should reuse their KV";
}

TEST_F(ServerContextMemoryTest, LosslessLlmsUnderBudgetAnswersAsResident) {
  ServerProcess server;
  ASSERT_TRUE(
      server.Start({"-m", model_, "--threads", "2", "--kv-budget", std::to_string(kBudgetMiB),
                    "--swap-dir", dir_->path() + "/llms", "--kv-no-compress"}));
  const Transcript t = Converse(server);
  ExpectSameAsResident(t);
  ExpectWithinBudget(t, /*strict=*/false);
  EXPECT_GT(t.min_cached_after_reply, 0) << "the context that just answered is warm";
  EXPECT_GT(t.max_stored, 0) << "llms keeps the chunks that fit";
  EXPECT_GT(t.reused, 0);
}

TEST_F(ServerContextMemoryTest, RecomputePolicyUnderBudgetAnswersAsResident) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2", "--kv-policy", "recompute",
                            "--kv-budget", std::to_string(kBudgetMiB)}));
  const Transcript t = Converse(server);
  ExpectSameAsResident(t);
  ExpectWithinBudget(t);
}

TEST_F(ServerContextMemoryTest, CompressedLlmsKeepsAnsweringWithinBudget) {
  // Lossy 8/4/2-bit chunks may change greedy replies; the contract is that every turn answers
  // and the stored KV stays within the budget.
  ServerProcess server;
  // --kv-no-warm: the working cache goes at the end of each call, so between calls all the KV
  // in memory is within the budget.
  ASSERT_TRUE(
      server.Start({"-m", model_, "--threads", "2", "--kv-budget", std::to_string(kBudgetMiB),
                    "--swap-dir", dir_->path() + "/lossy", "--kv-no-warm"}));
  const Transcript t = Converse(server);
  for (const std::string& r : t.replies) EXPECT_FALSE(r.empty());
  ExpectWithinBudget(t);
}

TEST_F(ServerContextMemoryTest, BadFlagsAreRefused) {
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--kv-policy", "nosuch"},
                                                std::vector<std::string>{"--kv-policy", "swap"}}) {
    std::vector<std::string> argv = {OdlmBinary(), "serve", "-m", model_, "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const ProcessResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  }
}

}  // namespace
}  // namespace odlm::testing
