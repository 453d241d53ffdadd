// tests/server_speculative_test.cc — speculative decoding in `odlm serve`: per request
// ("speculative") and as the server's default (--lookup-ngram / --draft-model), greedy replies
// equal to plain decoding's, alone and batched with other requests, in persistent contexts under
// a context-memory budget; its /metrics counters; bad "speculative" fields are 400s naming them.
// Real server processes on loopback ports, a real HTTP client.
#include <gtest/gtest.h>

#include <future>

#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

// A completion request over token ids: a phrase repeated, so prompt lookup finds drafts.
std::string Completion(int max_tokens, const json& speculative = nullptr, uint32_t seed = 3) {
  json prompt = json::array();
  for (int rep = 0; rep < 6; ++rep) {
    for (int i = 0; i < 10; ++i) prompt.push_back(1 + static_cast<int>((seed * 37 + i * 11) % 390));
  }
  json body = {
      {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true}};
  if (!speculative.is_null()) body["speculative"] = speculative;
  return body.dump();
}

std::string Text(httplib::Client& c, const std::string& body) {
  auto r = c.Post("/v1/completions", body, "application/json");
  EXPECT_TRUE(r);
  if (!r) return "";
  EXPECT_EQ(r->status, 200) << r->body;
  const json j = BodyJson(r);
  return j.contains("choices") ? j["choices"][0].value("text", "") : "";
}

double Metric(httplib::Client& c, const std::string& name) {
  auto r = c.Get("/metrics");
  return r ? MetricValue(r->body, name) : -1;
}

class ServerSpeculativeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // F16 weights: a multi-token pass computes what one-token passes compute, bit for bit, on
    // every kernel variant, so greedy replies must be equal (docs/PERFORMANCE.md).
    model_ = GenerateSmallModel(dir_->path(), 512, "f16");
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static std::string model_;
};
TempDir* ServerSpeculativeTest::dir_ = nullptr;
std::string ServerSpeculativeTest::model_;

TEST_F(ServerSpeculativeTest, PerRequestLookupGivesPlainGreedyRepliesAndCountsInMetrics) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2"}));
  auto c = server.Client();
  EXPECT_EQ(Metric(c, "odlm_speculative_generations_total"), 0);
  for (uint32_t seed : {3u, 8u}) {
    SCOPED_TRACE(seed);
    const std::string plain = Text(c, Completion(40, nullptr, seed));
    ASSERT_FALSE(plain.empty());
    EXPECT_EQ(
        Text(c, Completion(40, json{{"lookup_ngram", 2}, {"lookup_ngram_min", 1}, {"draft_max", 6}},
                           seed)),
        plain);
    EXPECT_EQ(Text(c, Completion(40, true, seed)), plain);
    EXPECT_EQ(Text(c, Completion(40, false, seed)), plain);
  }
  // Four speculative generations (two objects, two `true`); `false` is plain.
  EXPECT_EQ(Metric(c, "odlm_speculative_generations_total"), 4);
  const double drafted = Metric(c, "odlm_speculative_drafted_tokens_total");
  const double accepted = Metric(c, "odlm_speculative_accepted_tokens_total");
  EXPECT_GT(drafted, 0);
  EXPECT_GE(accepted, 0);
  EXPECT_LE(accepted, drafted);
  const double passes = Metric(c, "odlm_speculative_passes_total");
  const double pass_tokens = Metric(c, "odlm_speculative_pass_tokens_total");
  EXPECT_GT(passes, 0);
  EXPECT_EQ(pass_tokens, 4 * 39);  // every generated token but the first came from a pass
  EXPECT_NEAR(Metric(c, "odlm_speculative_tokens_per_pass"), pass_tokens / passes, 1e-3);
  EXPECT_NEAR(Metric(c, "odlm_speculative_acceptance_rate"), accepted / drafted, 1e-3);
}

TEST_F(ServerSpeculativeTest, ServerDefaultAppliesBatchedWithOtherRequests) {
  ServerProcess plain_server;
  ASSERT_TRUE(plain_server.Start({"-m", model_, "--threads", "2"}));
  auto pc = plain_server.Client();
  std::vector<std::string> want;
  for (uint32_t seed = 1; seed <= 4; ++seed)
    want.push_back(Text(pc, Completion(32, nullptr, seed)));

  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2", "--lookup-ngram", "3",
                            "--lookup-ngram-min", "1", "--draft-max", "5", "--parallel", "4"}));
  // Four at once: two take the server's default, one turns it off, one sets its own lengths; the
  // scheduler runs the speculative ones' passes beside the batch of the others.
  std::vector<std::future<std::string>> replies;
  const std::vector<json> specs = {nullptr, false, json{{"draft_max", 2}}, nullptr};
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    replies.push_back(std::async(std::launch::async, [&, seed] {
      auto c = server.Client();
      return Text(c, Completion(32, specs[seed - 1], seed));
    }));
  }
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    EXPECT_EQ(replies[seed - 1].get(), want[seed - 1]) << "request " << seed;
  }
  auto c = server.Client();
  EXPECT_EQ(Metric(c, "odlm_speculative_generations_total"), 3);
  EXPECT_GT(Metric(c, "odlm_speculative_drafted_tokens_total"), 0);
}

TEST_F(ServerSpeculativeTest, PersistentContextsUnderAContextMemoryBudgetAnswerAsPlain) {
  auto converse = [&](ServerProcess& server, const json& speculative) {
    auto c = server.Client();
    std::vector<std::string> ids, replies;
    for (int i = 0; i < 2; ++i) {
      const json r =
          BodyJson(c.Post("/v1/contexts", json{{"system", "Assistant " + std::to_string(i)}}.dump(),
                          "application/json"));
      ids.push_back(r.value("id", ""));
    }
    for (int turn = 0; turn < 3; ++turn) {
      for (int i = 0; i < 2; ++i) {
        json body = {{"content", "Say the numbers " + std::to_string(i) + " " +
                                     std::to_string(turn) + " again and again and again"},
                     {"max_tokens", 16},
                     {"temperature", 0},
                     {"ignore_eos", true}};
        if (!speculative.is_null()) body["speculative"] = speculative;
        auto r = c.Post("/v1/contexts/" + ids[i] + "/messages", body.dump(), "application/json");
        EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
        replies.push_back(BodyJson(r).value("reply", ""));
      }
    }
    return replies;
  };
  ServerProcess plain;
  ASSERT_TRUE(plain.Start({"-m", model_, "--threads", "2"}));
  const auto want = converse(plain, nullptr);
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2", "--kv-budget", "1", "--swap-dir",
                            dir_->path() + "/swap", "--kv-no-compress"}));
  EXPECT_EQ(converse(server, json{{"lookup_ngram", 2}, {"lookup_ngram_min", 1}}), want);
  auto c = server.Client();
  EXPECT_EQ(Metric(c, "odlm_speculative_generations_total"), 6);
}

TEST_F(ServerSpeculativeTest, BadSpeculativeFieldsAre400sNamingThem) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2"}));
  auto c = server.Client();
  const std::vector<std::pair<json, std::string>> cases = {
      {"yes", "speculative"},
      {json{{"draft_max", 65}}, "speculative.draft_max"},
      {json{{"draft_max", -1}}, "speculative.draft_max"},
      {json{{"lookup_ngram", 1.5}}, "speculative.lookup_ngram"},
      {json{{"lookup_ngram_min", 0}}, "speculative.lookup_ngram_min"},
      {json{{"draft_p_min", 2}}, "speculative.draft_p_min"},
      {json{{"draft_model", "small.gguf"}}, "speculative.draft_model"},
      {json{{"draft_model", true}}, ""},  // this server has no draft model
  };
  for (const auto& [spec, param] : cases) {
    SCOPED_TRACE(spec.dump());
    auto r = c.Post("/v1/completions", Completion(4, spec), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    const json err = BodyJson(r)["error"];
    if (!param.empty()) {
      EXPECT_EQ(err.value("param", ""), param) << r->body;
    }
    EXPECT_NE(err.value("message", "").find("speculative"), std::string::npos) << r->body;
  }
  // The server still answers, and counted none of them.
  EXPECT_FALSE(Text(c, Completion(4)).empty());
  EXPECT_EQ(Metric(c, "odlm_speculative_generations_total"), 0);
}

TEST_F(ServerSpeculativeTest, DraftModelFromTheCommandLine) {
  // The model drafts for itself: every greedy draft is accepted.
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--threads", "2", "--draft-model", model_, "--draft-max",
                            "4", "--draft-p-min", "0", "--draft-fixed"}));
  auto c = server.Client();
  ServerProcess plain;
  ASSERT_TRUE(plain.Start({"-m", model_, "--threads", "2"}));
  auto pc = plain.Client();
  EXPECT_EQ(Text(c, Completion(24)), Text(pc, Completion(24)));
  EXPECT_EQ(Text(c, Completion(24, json{{"draft_model", true}, {"lookup_ngram", 0}}, 5)),
            Text(pc, Completion(24, nullptr, 5)));
  EXPECT_EQ(Metric(c, "odlm_speculative_generations_total"), 2);
  const double drafted = Metric(c, "odlm_speculative_drafted_tokens_total");
  EXPECT_GT(drafted, 0);
  EXPECT_EQ(Metric(c, "odlm_speculative_accepted_tokens_total"), drafted);
}

}  // namespace
}  // namespace odlm::testing
