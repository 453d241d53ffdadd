// tests/eval_official_test.cc — odlm's CoQA and QuAC scorers reproduce what the official scripts
// print (../shared/testdata/qa/official: constructed predictions scored by evaluate-v1.0.py and
// QuAC's scorer.py outside the project): every CoQA figure within the script's one-decimal
// rounding, every QuAC figure to 0.01.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "eval/coqa.h"
#include "eval/quac.h"
#include "platform/file_util.h"
#include "tests/support/shared_testdata.h"

namespace odlm::eval {
namespace {

using nlohmann::json;
using odlm::testing::SharedTestdataPath;

json Official(const std::string& name) {
  auto text = ReadFileToString(SharedTestdataPath("qa/official/" + name));
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return json::parse(text.ok() ? *text : "{}");
}

TEST(OfficialScorers, CoqaMatchesEvaluateV1) {
  REQUIRE_SHARED_TESTDATA();
  auto data = LoadCoqaDataset(SharedTestdataPath("qa/official/coqa-data.json"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  auto preds = LoadCoqaPredictions(SharedTestdataPath("qa/official/coqa-preds.json"));
  ASSERT_TRUE(preds.ok()) << preds.status().ToString();
  const CoqaScores s = ScoreCoqa(*data, *preds);
  const json want = Official("coqa-official.json");
  auto check = [&](const std::string& name, const CoqaAggregate& got) {
    const json& w = want.at(name);
    // The script rounds to one decimal (and prints 0.0 for a domain without turns).
    EXPECT_NEAR(got.f1, w["f1"].get<double>(), 0.05 + 1e-9) << name;
    EXPECT_NEAR(got.em, w["em"].get<double>(), 0.05 + 1e-9) << name;
    EXPECT_EQ(got.turns, w["turns"].get<int>()) << name;
  };
  int domains = 0;
  for (const auto& [source, agg] : s.by_source) {
    // The script names domains for readers: "children_stories" for mctest, "news" for cnn, …
    const std::string domain = CoqaDomainDisplayName(source);
    ASSERT_TRUE(want.contains(domain)) << domain;
    check(domain, agg);
    ++domains;
  }
  EXPECT_EQ(domains, 7);
  check("in_domain", s.in_domain);
  check("out_domain", s.out_domain);
  check("overall", s.overall);
}

TEST(OfficialScorers, QuacMatchesScorerPy) {
  REQUIRE_SHARED_TESTDATA();
  auto data = LoadQuacDataset(SharedTestdataPath("qa/quac-val-sample.json"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  auto preds = LoadQuacPredictions(SharedTestdataPath("qa/official/quac-preds.jsonl"));
  ASSERT_TRUE(preds.ok()) << preds.status().ToString();
  const QuacScores s = ScoreQuac(*data, *preds);
  const json want = Official("quac-official.json");
  EXPECT_NEAR(s.f1, want["f1"].get<double>(), 0.01);
  EXPECT_NEAR(s.unfiltered_f1, want["unfiltered_f1"].get<double>(), 0.01);
  EXPECT_NEAR(s.heq_q, want["HEQ"].get<double>(), 0.01);
  EXPECT_NEAR(s.heq_d, want["DHEQ"].get<double>(), 0.01);
  ASSERT_TRUE(s.yes_no && s.followup && s.unanswerable);
  EXPECT_NEAR(*s.yes_no, want["yes/no"].get<double>(), 0.01);
  EXPECT_NEAR(*s.followup, want["followup"].get<double>(), 0.01);
  EXPECT_NEAR(*s.unanswerable, want["unanswerable_acc"].get<double>(), 0.01);
}

}  // namespace
}  // namespace odlm::eval
