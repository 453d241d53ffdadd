// eval/quac_test.cc — QuAC loading and scoring against hand-computed values.
#include "eval/quac.h"

#include <gtest/gtest.h>

#include "tests/support/shared_testdata.h"

namespace odlm::eval {
namespace {

// Two dialogs written here (the suite covers QuAC without ../shared).
constexpr const char* kTinyQuac = R"({"data": [
 {"title": "T", "section_title": "S", "background": "B", "paragraphs": [
  {"id": "A", "context": "The red car and the blue car. Apples. CANNOTANSWER",
   "qas": [
    {"id": "A_q#0", "question": "Which car?", "yesno": "y", "followup": "y",
     "answers": [{"text": "red car"}, {"text": "red car"}, {"text": "blue car"}],
     "orig_answer": {"text": "red car"}},
    {"id": "A_q#1", "question": "A dog?", "yesno": "x", "followup": "n",
     "answers": [{"text": "CANNOTANSWER"}, {"text": "CANNOTANSWER"}, {"text": "the dog"}],
     "orig_answer": {"text": "CANNOTANSWER"}},
    {"id": "A_q#2", "question": "Fruit?", "yesno": "n", "followup": "m",
     "answers": [{"text": "apples"}, {"text": "oranges"}], "orig_answer": {"text": "apples"}}]},
  {"id": "B", "context": "In 1990.",
   "qas": [
    {"id": "B_q#0", "question": "When?", "yesno": "x", "followup": "y",
     "answers": [{"text": "CANNOTANSWER"}, {"text": "in 1990"}, {"text": "in 1990"}],
     "orig_answer": {"text": "in 1990"}},
    {"id": "B_q#1", "question": "Why?", "yesno": "x", "followup": "n",
     "answers": [{"text": "CANNOTANSWER"}, {"text": "CANNOTANSWER"}],
     "orig_answer": {"text": "CANNOTANSWER"}}]}]}]})";

QuacDataset Tiny() {
  auto d = ParseQuacDataset(kTinyQuac, "tiny");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return *d;
}

TEST(QuacReferences, CannotAnswerReductionAndHumanAgreement) {
  // 2 CANNOTANSWER ≥ 1 span → [CANNOTANSWER]; 1 < 2 spans → the spans; a tie (1 vs 1) → CA.
  EXPECT_EQ(HandleCannotAnswer({"CANNOTANSWER", "CANNOTANSWER", "x"}),
            std::vector<std::string>{"CANNOTANSWER"});
  EXPECT_EQ(HandleCannotAnswer({"CANNOTANSWER", "x", "y"}), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(HandleCannotAnswer({"CANNOTANSWER", "x"}), std::vector<std::string>{"CANNOTANSWER"});
  // ["red car", "red car", "blue car"]: max F1 of each vs the others: 1, 1, 1/2 (common "car",
  // P = R = 1/2) → 2.5/3.
  EXPECT_NEAR(QuacHumanAgreement({"red car", "red car", "blue car"}), 2.5 / 3, 1e-12);
  EXPECT_EQ(QuacHumanAgreement({"apples", "oranges"}), 0.0);
  EXPECT_EQ(QuacHumanAgreement({"CANNOTANSWER"}), 1.0);
  // CANNOTANSWER is matched exactly, not normalized.
  EXPECT_EQ(QuacModelF1("CANNOTANSWER", {"CANNOTANSWER"}), 1.0);
  EXPECT_EQ(QuacModelF1("cannotanswer", {"CANNOTANSWER"}), 0.0);
  EXPECT_EQ(QuacModelF1("CANNOTANSWER.", {"CANNOTANSWER"}), 0.0);
}

TEST(QuacScore, HandComputedSyntheticScores) {
  const QuacDataset d = Tiny();
  // A_q#0 "blue car": per ref [1/2, 1/2, 1] → LOO (1 + 1 + 1/2)/3 = 2.5/3; agreement 2.5/3 → the
  //   model ties the humans: HEQ counts it (≥). yes/no y = y ✓, follow-up n ≠ y ✗.
  // A_q#1 refs → [CANNOTANSWER], agreement 1; "CANNOTANSWER" → 1 ✓ HEQ; unanswerable 1; x = x ✓,
  //   n = n ✓.
  // A_q#2 agreement 0 < 0.4 → left out of everything but unfiltered F1: "apples" LOO (0 + 1)/2
  //   = 1/2.
  // B_q#0 refs → ["in 1990", "in 1990"], agreement 1; "1990" F1 vs each: P 1, R 1/2 → 2/3 < 1 →
  //   HEQ fails, dialog B fails. x = x ✓, y = y ✓.
  // B_q#1 no prediction → 0, counted in F1, HEQ-Q, yes/no, follow-up, unanswerable.
  // A line for an unknown dialog is reported.
  const std::vector<QuacPredictionLine> preds = {
      {{{"A_q#0", "blue car", "y", "n"},
        {"A_q#1", "CANNOTANSWER", "x", "n"},
        {"A_q#2", "apples", "y", "y"}}},
      {{{"B_q#0", "1990", "x", "y"}}},
      {{{"Z_q#0", "?", "x", "y"}}},
  };
  const QuacScores s = ScoreQuac(d, preds);
  // F1 over A0, A1, B0, B1: (2.5/3 + 1 + 2/3 + 0)/4 = 2.5/4 = 62.5.
  EXPECT_NEAR(s.f1, 62.5, 1e-9);
  // Unfiltered over all five: (2.5/3 + 1 + 1/2 + 2/3 + 0)/5 = 3/5 = 60.
  EXPECT_NEAR(s.unfiltered_f1, 60.0, 1e-9);
  // HEQ-Q: A0, A1 of 4 → 50. HEQ-D: A passes (A2 does not count), B fails → 50.
  EXPECT_NEAR(s.heq_q, 50.0, 1e-9);
  EXPECT_NEAR(s.heq_d, 50.0, 1e-9);
  EXPECT_EQ(s.heq_q_count, 2);
  EXPECT_EQ(s.scored_questions, 4);
  // yes/no: A0, A1, B0 right of 4 → 75; follow-up: A1, B0 of 4 → 50.
  ASSERT_TRUE(s.yes_no && s.followup && s.unanswerable);
  EXPECT_NEAR(*s.yes_no, 75.0, 1e-9);
  EXPECT_NEAR(*s.followup, 50.0, 1e-9);
  // Unanswerable: A1 = 1, B1 (missing) = 0 → 50.
  EXPECT_NEAR(*s.unanswerable, 50.0, 1e-9);
  EXPECT_EQ(s.unanswerable_questions, 2);
  // Human F1 over A0, A1, B0, B1: (2.5/3 + 1 + 1 + 1)/4 = 95.833.
  EXPECT_NEAR(s.human_f1, 100.0 * (2.5 / 3 + 3) / 4, 1e-9);
  EXPECT_EQ(s.low_agreement, 1);
  EXPECT_EQ(s.missing_predictions, 1);
  EXPECT_EQ(s.unknown_predictions, 1);
  EXPECT_EQ(s.questions, 5);
  EXPECT_EQ(s.dialogs, 2);
}

TEST(QuacScore, MisplacedPredictionIsNotFoundAsInTheOfficialScorer) {
  const QuacDataset d = Tiny();
  // B_q#0 sits on dialog A's line: the official scorer files it under A and never finds it.
  const std::vector<QuacPredictionLine> preds = {
      {{{"A_q#0", "red car", "y", "y"}, {"B_q#0", "in 1990", "x", "y"}}}};
  const QuacScores s = ScoreQuac(d, preds);
  EXPECT_EQ(s.misplaced_predictions, 1);
  // Found: A_q#0 only. Missing: A_q#1, A_q#2, B_q#0, B_q#1 → both dialogs fail HEQ-D.
  EXPECT_EQ(s.missing_predictions, 4);
  EXPECT_EQ(s.heq_d, 0.0);
}

// Issue 16 (9): yesno is y, n or x and followup y, n or m, in predictions and in the data.
TEST(QuacPredictions, RefusesUnknownDialogActs) {
  auto yesno = ParseQuacPredictions(
      "{\"qid\": [\"A_q#0\"], \"best_span_str\": [\"x\"], \"yesno\": [\"maybe\"], "
      "\"followup\": [\"n\"]}",
      "p.jsonl");
  ASSERT_FALSE(yesno.ok());
  EXPECT_NE(yesno.status().message().find("[0].yesno: expected \"y\", \"n\" or \"x\""),
            std::string::npos)
      << yesno.status().message();
  auto followup = ParseQuacPredictions(
      "{\"qid\": [\"A_q#0\"], \"best_span_str\": [\"x\"], \"yesno\": [\"y\"], "
      "\"followup\": [\"x\"]}",
      "p.jsonl");
  ASSERT_FALSE(followup.ok());
  EXPECT_NE(followup.status().message().find("followup"), std::string::npos);
  auto data = ParseQuacDataset(
      R"({"data": [{"paragraphs": [{"id": "A", "context": "c", "qas": [{"id": "A_q#0",
          "question": "q", "yesno": "Y", "followup": "n", "answers": [{"text": "c"}]}]}]}]})",
      "d.json");
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("yesno"), std::string::npos);
}

TEST(QuacPredictions, ParseWriteAndErrors) {
  auto p = ParseQuacPredictions(
      "{\"qid\": [\"A_q#0\", \"A_q#1\"], \"best_span_str\": [\"x\", \"y\"], "
      "\"yesno\": [\"y\", \"x\"], \"followup\": [\"n\", \"m\"]}\n\n",
      "p.jsonl");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].predictions[1].followup, "m");
  auto again = ParseQuacPredictions(QuacPredictionsToJsonLines(*p), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].predictions[0].span, "x");

  auto uneven = ParseQuacPredictions(
      "{\"qid\": [\"A_q#0\"], \"best_span_str\": [], \"yesno\": [\"y\"], \"followup\": [\"n\"]}",
      "p.jsonl");
  ASSERT_FALSE(uneven.ok());
  EXPECT_NE(uneven.status().message().find("p.jsonl:1"), std::string::npos);
  EXPECT_NE(uneven.status().message().find("lists differ in length"), std::string::npos);
  auto broken = ParseQuacPredictions("\n{\"qid\": [", "p.jsonl");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("p.jsonl:2"), std::string::npos);
  auto no_context =
      ParseQuacDataset(R"({"data": [{"paragraphs": [{"id": "A", "qas": []}]}]})", "d.json");
  ASSERT_FALSE(no_context.ok());
  EXPECT_NE(no_context.status().message().find("dialog 'A' has no context"), std::string::npos);
}

// The shared sample: 5 dialogs, 41 questions, 10 of them unanswerable ([CANNOTANSWER] after the
// reduction; each has agreement 1) and 7 with human agreement < 0.4 (ids ending in
// 0aaa…_1_q#0, #5, #6, #7, 95a0…_0_q#4, dabc…_0_q#0, #4). Worked agreement example, 5ab5…_1_q#7:
// refs [in 1986 i epomeni kinisi next move was released] (9), [epomeni kinisi next move was
// released] (6), [pragmata things] (2), [album included hit pragmata things and went platinum] (8):
// F1(r0,r1) = 2·(6/9)·1/(6/9 + 1) = 0.8, F1(r2,r3) = 2·1·(2/8)/(1 + 2/8) = 0.4, others 0 →
// agreement (0.8 + 0.8 + 0.4 + 0.4)/4 = 0.6.
TEST(QuacScore, SharedSampleHandComputed) {
  REQUIRE_SHARED_TESTDATA();
  auto d = LoadQuacDataset(odlm::testing::SharedTestdataPath("qa/quac-val-sample.json"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->dialogs.size(), 5u);

  int low = 0, cannot = 0;
  for (const auto& dialog : d->dialogs) {
    for (const auto& q : dialog.questions) {
      const auto refs = HandleCannotAnswer(q.answers);
      if (QuacHumanAgreement(refs) < 0.4) ++low;
      if (refs == std::vector<std::string>{"CANNOTANSWER"}) ++cannot;
      if (q.id == "C_5ab583f64dbb47b995cf59328ea0af43_1_q#7") {
        EXPECT_NEAR(QuacHumanAgreement(refs), 0.6, 1e-12);
      }
    }
  }
  EXPECT_EQ(low, 7);
  EXPECT_EQ(cannot, 10);

  // Predictions: every unanswerable question gets "CANNOTANSWER" except 95a0…_1_q#6 ("cannot
  // answer": 0) and dabc…_0_q#9 (left out: missing); 5ab5…_1_q#6 and dabc…_0_q#6, whose refs are
  // four identical spans, get that span (F1 1); 5ab5…_1_q#0 gets "In May 1983, she married Nikos
  // Karvelas," — refs are that (7 tokens) twice and it plus "composer" (8 tokens) twice, so every
  // leave-one-out subset keeps an exact copy: F1 1. All other questions get "" (F1 0). yes/no and
  // follow-up predictions are "x" and "y" everywhere.
  const std::string unanswered_wrong = "C_95a02857a40c472c9e6d8cb7b304fd2b_1_q#6";
  const std::string missing = "C_dabcfc5a414f4daf84acd0717a596d65_0_q#9";
  int yes_no_right = 0, followup_right = 0, kept_answered = 0;
  std::vector<QuacPredictionLine> preds;
  for (const auto& dialog : d->dialogs) {
    QuacPredictionLine line;
    for (const auto& q : dialog.questions) {
      if (q.id == missing) continue;
      const auto refs = HandleCannotAnswer(q.answers);
      std::string span;
      if (refs == std::vector<std::string>{"CANNOTANSWER"}) {
        span = q.id == unanswered_wrong ? "cannot answer" : "CANNOTANSWER";
      } else if (q.id == "C_5ab583f64dbb47b995cf59328ea0af43_1_q#6" ||
                 q.id == "C_dabcfc5a414f4daf84acd0717a596d65_0_q#6") {
        span = refs[0];
      } else if (q.id == "C_5ab583f64dbb47b995cf59328ea0af43_1_q#0") {
        span = "In May 1983, she married Nikos Karvelas,";
      }
      if (QuacHumanAgreement(refs) >= 0.4) {
        ++kept_answered;
        yes_no_right += q.yesno == "x";
        followup_right += q.followup == "y";
      }
      line.predictions.push_back({q.id, span, "x", "y"});
    }
    preds.push_back(line);
  }
  const QuacScores s = ScoreQuac(*d, preds);
  // Scored questions: 41 − 7 low-agreement (answered "") = 34, of which 33 answered + 1 missing.
  EXPECT_EQ(kept_answered, 33);
  EXPECT_EQ(s.scored_questions, 34);
  EXPECT_EQ(s.low_agreement, 7);
  EXPECT_EQ(s.missing_predictions, 1);
  // F1 = 1 on 8 CANNOTANSWER + 3 span questions = 11 of 34 → 32.35. HEQ-Q: those 11 reach their
  // agreement (1 ≥ 1), the rest score 0 against agreements > 0 → 11/34. Every dialog holds a
  // kept question answered "" → HEQ-D 0.
  EXPECT_NEAR(s.f1, 100.0 * 11 / 34, 1e-9);
  EXPECT_NEAR(s.f1, 32.35, 0.01);
  EXPECT_NEAR(s.heq_q, 32.35, 0.01);
  EXPECT_EQ(s.heq_d, 0.0);
  // Unfiltered: the same 11 ones over all 41 questions → 26.83.
  EXPECT_NEAR(s.unfiltered_f1, 100.0 * 11 / 41, 1e-9);
  // Unanswerable: 8 right of 10 (one wrong, one missing) → 80.
  ASSERT_TRUE(s.unanswerable.has_value());
  EXPECT_NEAR(*s.unanswerable, 80.0, 1e-9);
  // yes/no and follow-up over 34 (the missing one counts as wrong). Of the 33 answered kept
  // questions, 24 have gold yesno "x" and 21 gold followup "y" (counted in the file):
  // 24/34 = 70.59, 21/34 = 61.76.
  EXPECT_EQ(yes_no_right, 24);
  EXPECT_EQ(followup_right, 21);
  ASSERT_TRUE(s.yes_no.has_value());
  EXPECT_NEAR(*s.yes_no, 70.59, 0.01);
  EXPECT_NEAR(*s.followup, 61.76, 0.01);
  EXPECT_NEAR(*s.yes_no, 100.0 * yes_no_right / 34, 1e-9);
  EXPECT_NEAR(*s.followup, 100.0 * followup_right / 34, 1e-9);
}

TEST(QuacScore, SharedSampleReferenceAnswersReachHumanEquivalence) {
  REQUIRE_SHARED_TESTDATA();
  auto d = LoadQuacDataset(odlm::testing::SharedTestdataPath("qa/quac-val-sample.json"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  // Predicting a (reduced) reference r_k verbatim: its leave-one-out F1 is
  // ((n−1)·1 + m_k)/n where m_k = max_{j≠k} F1(r_k, r_j), and the agreement is (Σ_i m_i)/n ≤
  // (m_k + n − 1)/n since every m_i ≤ 1. So every kept question reaches HEQ, every dialog HEQ-D;
  // with the gold yes/no and follow-up, those are 100 too, and unanswerable is 100.
  std::vector<QuacPredictionLine> preds;
  for (const auto& dialog : d->dialogs) {
    QuacPredictionLine line;
    for (const auto& q : dialog.questions) {
      line.predictions.push_back({q.id, HandleCannotAnswer(q.answers)[0], q.yesno, q.followup});
    }
    preds.push_back(line);
  }
  const QuacScores s = ScoreQuac(*d, preds);
  EXPECT_EQ(s.heq_q, 100.0);
  EXPECT_EQ(s.heq_d, 100.0);
  EXPECT_EQ(*s.yes_no, 100.0);
  EXPECT_EQ(*s.followup, 100.0);
  EXPECT_EQ(*s.unanswerable, 100.0);
  EXPECT_GE(s.f1, s.human_f1);
  EXPECT_EQ(s.missing_predictions, 0);
}

}  // namespace
}  // namespace odlm::eval
