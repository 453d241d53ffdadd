// tests/eval_endpoint_cli_test.cc — `odlm eval coqa|quac --endpoint URL --model NAME` as a real
// process against real loopback chat servers: CoDi's scripted fake teacher (served from this test
// process: what each request carries, and predictions equal to its known replies with gold and
// pred history and --refusal; retried 5xx/429; an API key from --api-key-env), `odlm serve` on the
// build's random model (a server of ours: every question answered, the file scores), and an
// endpoint nothing listens on (a clear error, exit 1, nothing written).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codi/fake_teacher.h"
#include "codi/test_util.h"
#include "tests/support/server_process.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using nlohmann::json;
using odlm::testing::OdlmBinary;
using odlm::testing::RunProcess;
namespace ct = odlm::codi::testing;

const char* const kStory = "Ann has a red bike. She rides it to school.";
const std::vector<std::string> kQuestions = {"What does Ann have?", "What color?",
                                             "Why would she refuse to sell it?",
                                             "Where does she ride it?"};
const std::vector<std::string> kGold = {"a red bike", "red", "unknown", "to school"};
const char* const kRefusal = "The document does not tell";

std::string CoqaJson() {
  json questions = json::array(), answers = json::array();
  for (size_t i = 0; i < kQuestions.size(); ++i) {
    questions.push_back({{"input_text", kQuestions[i]}, {"turn_id", i + 1}});
    answers.push_back({{"input_text", kGold[i]}, {"turn_id", i + 1}});
  }
  json data = json::array();
  data.push_back({{"source", "cnn"},
                  {"id", "s1"},
                  {"story", kStory},
                  {"questions", questions},
                  {"answers", answers}});
  data.push_back({{"source", "wikipedia"},
                  {"id", "s2"},
                  {"story", "Water boils at 100 C."},
                  {"questions", {{{"input_text", "When does water boil?"}, {"turn_id", 1}}}},
                  {"answers", {{{"input_text", "at 100 C"}, {"turn_id", 1}}}}});
  return json({{"version", "1.0"}, {"data", data}}).dump();
}

class EvalEndpointCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.file("coqa.json");
    std::ofstream(data_) << CoqaJson();
  }
  std::vector<std::string> Eval(const std::string& url, const std::string& out,
                                std::vector<std::string> extra) {
    std::vector<std::string> a = {OdlmBinary(), "eval",  "coqa",    "--data",      data_,
                                  "--endpoint", url,     "--model", "served-name", "--max-tokens",
                                  "12",         "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // The request bodies the fake received whose last message is `question`.
  std::vector<json> BodiesFor(const std::string& question) {
    std::vector<json> out;
    for (const auto& b : fake_.bodies()) {
      const json j = json::parse(b);
      if (j["messages"].back()["content"] == question) out.push_back(j);
    }
    return out;
  }
  // s1's predictions in turn order.
  static std::vector<std::string> S1Answers(const std::string& path) {
    std::vector<std::string> a(kQuestions.size());
    for (const auto& p : json::parse(ct::ReadAll(path))) {
      if (p["id"] == "s1") a.at(p["turn_id"].get<int>() - 1) = p["answer"];
    }
    return a;
  }
  codi::FakeTeacher fake_;
  ct::TempDir dir_;
  std::string data_;
};

TEST_F(EvalEndpointCli, GoldHistoryRequestsAndPredictions) {
  const std::string out = dir_.file("gold.json");
  auto r = RunProcess(Eval(fake_.url(), out, {"--refusal", kRefusal, "--show-prompts"}), "", 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("5 questions answered by " + fake_.url()), std::string::npos) << r.err;
  // Predictions: the server's replies (the fake's are a function of the question), a refusal
  // written as CoQA's "unknown".
  const json preds = json::parse(ct::ReadAll(out));
  ASSERT_EQ(preds.size(), 5u);
  const auto s1 = S1Answers(out);
  for (size_t i = 0; i < kQuestions.size(); ++i) {
    const std::string expected = i == 2 ? "unknown" : codi::FakeTeacher::Reply(kQuestions[i], 0);
    EXPECT_EQ(s1[i], expected) << kQuestions[i];
  }
  // What was sent: the document as the system message, gold answers as assistant turns (a gold
  // "unknown" in the refusal's words), greedy, --max-tokens, the model name.
  const auto last = BodiesFor(kQuestions[3]);
  ASSERT_EQ(last.size(), 1u);
  const json& b = last[0];
  EXPECT_EQ(b["model"], "served-name");
  EXPECT_EQ(b["temperature"], 0);
  EXPECT_EQ(b["max_tokens"], 12);
  EXPECT_EQ(b["stream"], false);
  const json& m = b["messages"];
  ASSERT_EQ(m.size(), 8u) << m.dump();
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", kStory}}));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m[1 + 2 * i], json({{"role", "user"}, {"content", kQuestions[i]}}));
    EXPECT_EQ(m[2 + 2 * i]["role"], "assistant");
  }
  EXPECT_EQ(m[2]["content"], kGold[0]);
  EXPECT_EQ(m[6]["content"], kRefusal);
  // --show-prompts: each request body, one JSON line each.
  int shown = 0;
  for (const auto& line : ct::Lines(r.err)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("messages")) ++shown;
  }
  EXPECT_EQ(shown, 5);
  EXPECT_EQ(fake_.requests(), 5);
}

TEST_F(EvalEndpointCli, PredHistoryShowsTheServersOwnAnswers) {
  const std::string out = dir_.file("pred.json");
  auto r = RunProcess(Eval(fake_.url(), out, {"--history", "pred", "--max-batch", "1"}), "", 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s1 = S1Answers(out);
  EXPECT_EQ(s1[2], codi::FakeTeacher::Reply(kQuestions[2], 0)) << "no --refusal: as given";
  const auto last = BodiesFor(kQuestions[3]);
  ASSERT_EQ(last.size(), 1u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(last[0]["messages"][2 + 2 * i]["content"], s1[i]);
}

TEST_F(EvalEndpointCli, TransientFailuresAreRetried) {
  fake_.Inject({{codi::Fault::kHttp, 503}, {codi::Fault::kHttp, 429, 0}});
  const std::string out = dir_.file("retried.json");
  auto r = RunProcess(Eval(fake_.url(), out, {"--max-batch", "1"}), "", 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("7 requests"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(ct::ReadAll(out)).size(), 5u);
}

TEST_F(EvalEndpointCli, ApiKeyFromTheEnvironment) {
  fake_.RequireKey("sk-eval-test");
  const std::string out = dir_.file("keyed.json");
  auto r = RunProcess(Eval(fake_.url(), out, {}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no answer after 1 request (http_401"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  r = RunProcess(Eval(fake_.url(), out, {"--api-key-env", "ODLM_EVAL_TEST_NO_SUCH_VAR"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not set"), std::string::npos) << r.err;
  ::setenv("ODLM_EVAL_TEST_KEY", "sk-eval-test", 1);
  r = RunProcess(Eval(fake_.url(), out, {"--api-key-env", "ODLM_EVAL_TEST_KEY"}));
  ::unsetenv("ODLM_EVAL_TEST_KEY");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(ct::ReadAll(out)).size(), 5u);
}

TEST_F(EvalEndpointCli, QuacWritesItsLines) {
  const std::string out = dir_.file("quac.jsonl");
  auto r = RunProcess({OdlmBinary(), "eval", "quac", "--data",
                       std::string(ODLM_SOURCE_DIR) + "/examples/eval/quac_sample.json",
                       "--endpoint", fake_.url(), "--model", "m", "--out", out},
                      "", 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = ct::Lines(ct::ReadAll(out));
  ASSERT_EQ(lines.size(), 2u);
  size_t answered = 0;
  for (const auto& l : lines) answered += json::parse(l)["best_span_str"].size();
  EXPECT_EQ(answered, 9u);
  EXPECT_EQ(fake_.requests(), 9);
}

TEST_F(EvalEndpointCli, UnreachableEndpointIsAClearErrorAndWritesNothing) {
  std::string dead;
  {
    codi::FakeTeacher gone;
    dead = gone.url();
  }
  const std::string out = dir_.file("none.json");
  auto r = RunProcess(Eval(dead, out, {}), "", 120);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("endpoint " + dead + ": no answer after 4 requests (connection"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing written"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));
  // Usage errors: no model name, local-model options, a URL that is not one.
  auto args = Eval(fake_.url(), out, {});
  args.erase(args.begin() + 7, args.begin() + 9);  // --model served-name
  r = RunProcess(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--endpoint needs --model"), std::string::npos) << r.err;
  EXPECT_EQ(RunProcess(Eval(fake_.url(), out, {"-c", "512"})).exit_code, 2);
  r = RunProcess(Eval("127.0.0.1:8000", out, {}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected http://host:port"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(fake_.requests(), 0);
}

TEST_F(EvalEndpointCli, OdlmServeAnswersEveryQuestion) {
  odlm::testing::ServerProcess server;  // the build's default (random) model, no keys, loopback
  ASSERT_TRUE(server.Start({}));
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  const std::string out = dir_.file("serve.json");
  auto r = RunProcess(Eval(url, out, {}), "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = RunProcess(
      {OdlmBinary(), "eval", "score", "coqa", "--data", data_, "--preds", out, "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json j = json::parse(s.out);
  EXPECT_EQ(j["turns"], 5);
  EXPECT_EQ(j["missing_predictions"], 0);
}

}  // namespace
}  // namespace odlm
