// tests/eval_cli_test.cc — `odlm eval` end to end: the binary reads official-format files and
// prints the scores (JSON keys the issue promises), reports bad input with exit code 1, and writes
// a report directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/shared_testdata.h"
#include "tests/support/subprocess.h"

namespace {

// Results, messages and JSON on stdout; errors on stderr.
using Result = odlm::testing::ProcessResult;
using odlm::testing::RunOdlm;

class EvalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("odlm_eval_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

constexpr const char* kCoqa = R"({"version": "1.0", "data": [
 {"source": "cnn", "id": "s1", "story": "Ann has a red bike.",
  "questions": [{"input_text": "What does Ann have?", "turn_id": 1},
                {"input_text": "What color?", "turn_id": 2}],
  "answers": [{"input_text": "a red bike", "turn_id": 1}, {"input_text": "red", "turn_id": 2}]},
 {"source": "science", "id": "s2", "story": "Water boils at 100 C.",
  "questions": [{"input_text": "When does water boil?", "turn_id": 1}],
  "answers": [{"input_text": "at 100 C", "turn_id": 1}]}]})";

TEST_F(EvalCli, ScoreCoqaJson) {
  const std::string data = Write("coqa.json", kCoqa);
  // s1 t1 "red bike" = "a red bike" normalized → 1; s1 t2 "red car": P 1/2, R 1 → F1 2/3, recall
  // 1; s2 t1 "100" vs [at, 100, c]: P 1, R 1/3 → F1 1/2, recall 1/3.
  // in-domain F1 (1 + 2/3)/2 = 83.33; out-of-domain 50; overall (1 + 2/3 + 1/2)/3 = 72.22;
  // EM 1/3 = 33.33; recall (1 + 1 + 1/3)/3 = 77.78.
  const std::string preds = Write("p.json", R"([{"id": "s1", "turn_id": 1, "answer": "red bike"},
      {"id": "s1", "turn_id": 2, "answer": "red car"}, {"id": "s2", "turn_id": 1, "answer": "100"}])");
  const Result r = RunOdlm("eval score coqa --data " + data + " --preds " + preds + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["f1"].get<double>(), 72.22, 0.01);
  EXPECT_NEAR(j["em"].get<double>(), 33.33, 0.01);
  EXPECT_NEAR(j["recall"].get<double>(), 77.78, 0.01);
  EXPECT_NEAR(j["in_domain_f1"].get<double>(), 83.33, 0.01);
  EXPECT_NEAR(j["out_domain_f1"].get<double>(), 50.0, 0.01);
  const Result table = RunOdlm("eval score coqa --data " + data + " --preds " + preds);
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("overall"), std::string::npos);
  EXPECT_NE(table.out.find("72.2"), std::string::npos);
}

TEST_F(EvalCli, BadInputFailsWithAMessage) {
  const std::string data = Write("coqa.json", kCoqa);
  const std::string bad = Write("bad.json", R"([{"id": "s1", "turn_id": "one", "answer": "x"}])");
  Result r = RunOdlm("eval score coqa --data " + data + " --preds " + bad);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[0].turn_id: expected an integer"), std::string::npos) << r.err;
  r = RunOdlm("eval score coqa --data " + (dir_ / "absent.json").string() + " --preds " + bad);
  EXPECT_EQ(r.exit_code, 1);
  r = RunOdlm("eval score squad --data " + data + " --preds " + bad);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown task 'squad'"), std::string::npos) << r.err;
  EXPECT_EQ(RunOdlm("eval score coqa --data " + data).exit_code, 2);  // --preds missing: usage
}

TEST_F(EvalCli, RougeAndChrf) {
  const std::string refs = Write("refs.txt", "The cat sat on the mat.\nabc\n");
  const std::string hyps = Write("hyps.txt", "the cat lay on the mat today\nabd\n");
  // Pair 1 ROUGE-1 F 10/13, pair 2 [abc] vs [abd] 0 → mean 38.46.
  Result r = RunOdlm("eval rouge --refs " + refs + " --hyps " + hyps + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["rouge1"].get<double>(), 100.0 * (10.0 / 13) / 2, 1e-9);
  EXPECT_NEAR(j["rouge2"].get<double>(), 100.0 * (6.0 / 11) / 2, 1e-9);
  const std::string r1 = Write("r1.txt", "abc\n");
  const std::string h1 = Write("h1.txt", "abd\n");
  r = RunOdlm("eval chrf --refs " + r1 + " --hyps " + h1 + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["chrf"].get<double>(), 100.0 * 7 / 18, 1e-9);
  const std::string uneven = Write("u.txt", "one\ntwo\n");
  r = RunOdlm("eval chrf --refs " + r1 + " --hyps " + uneven);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has 1 lines but"), std::string::npos) << r.err;
}

TEST_F(EvalCli, ReportWritesMarkdownJsonAndSvg) {
  const std::string data = Write("coqa.json", kCoqa);
  const std::string gold =
      Write("gold.json", R"([{"id": "s1", "turn_id": 1, "answer": "a red bike"},
      {"id": "s1", "turn_id": 2, "answer": "red"}, {"id": "s2", "turn_id": 1, "answer": "at 100 C"}])");
  const std::string pred =
      Write("pred.json", R"([{"id": "s1", "turn_id": 1, "answer": "a red bike"},
      {"id": "s1", "turn_id": 2, "answer": "blue"}, {"id": "s2", "turn_id": 1, "answer": "100"}])");
  const std::string out = (dir_ / "report").string();
  const Result r = RunOdlm("eval report --data " + data + " --preds " + gold + " --preds-pred " +
                           pred + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream js(out + "/report.json");
  const auto j = nlohmann::json::parse(js);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["task"], "coqa");
  // Recall by turn: gold history turn 1 = (1 + 1)/2 = 100, turn 2 = 100; pred history turn 1 =
  // (1 + 1/3)/2 = 66.67, turn 2 = 0.
  EXPECT_NEAR(j["runs"][0]["curve"][1]["value"].get<double>(), 100.0, 1e-9);
  EXPECT_NEAR(j["runs"][1]["curve"][0]["value"].get<double>(), 100.0 * 2 / 3, 1e-9);
  EXPECT_EQ(j["runs"][1]["curve"][0]["count"], 2);
  EXPECT_NEAR(j["runs"][1]["curve"][1]["value"].get<double>(), 0.0, 1e-9);
  EXPECT_TRUE(std::filesystem::exists(out + "/report.md"));
  std::ifstream svg(out + "/curve.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  EXPECT_NE(text.find("pred history"), std::string::npos);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
}

TEST_F(EvalCli, ScoresTheSharedQuacSample) {
  REQUIRE_SHARED_TESTDATA();
  // Every question answered "CANNOTANSWER": 1 on the 10 unanswerable questions, 0 elsewhere.
  // Kept questions: 41 − 7 low-agreement = 34 → F1 10/34 = 29.41; HEQ-Q 10/34; unanswerable 100;
  // no dialog has only unanswerable kept questions → HEQ-D 0.
  const std::string data = odlm::testing::SharedTestdataPath("qa/quac-val-sample.json");
  std::ifstream in(data);
  const auto d = nlohmann::json::parse(in);
  std::string lines;
  for (const auto& article : d["data"]) {
    for (const auto& par : article["paragraphs"]) {
      nlohmann::json l = {{"qid", nlohmann::json::array()},
                          {"best_span_str", nlohmann::json::array()},
                          {"yesno", nlohmann::json::array()},
                          {"followup", nlohmann::json::array()}};
      for (const auto& qa : par["qas"]) {
        l["qid"].push_back(qa["id"]);
        l["best_span_str"].push_back("CANNOTANSWER");
        l["yesno"].push_back("x");
        l["followup"].push_back("n");
      }
      lines += l.dump() + "\n";
    }
  }
  const std::string preds = Write("quac.jsonl", lines);
  const Result r = RunOdlm("eval score quac --data " + data + " --preds " + preds + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["f1"].get<double>(), 29.41, 0.01);
  EXPECT_NEAR(j["heq_q"].get<double>(), 29.41, 0.01);
  EXPECT_EQ(j["heq_d"].get<double>(), 0.0);
  EXPECT_EQ(j["unanswerable"].get<double>(), 100.0);
  EXPECT_TRUE(j.contains("yes_no"));
  EXPECT_TRUE(j.contains("followup"));
}

}  // namespace
