// eval/coqa_test.cc — CoQA loading and scoring against hand-computed values.
#include "eval/coqa.h"

#include <gtest/gtest.h>

#include "eval/json_fields.h"
#include "tests/support/shared_testdata.h"

namespace odlm::eval {
namespace {

// Two stories written here (so these tests run without ../shared): an in-domain one with three
// human answers per turn and an out-of-domain one with a single answer per turn.
constexpr const char* kTinyCoqa = R"({"version": "1.0", "data": [
 {"source": "cnn", "id": "s1", "story": "Ann has a red bike. She rides it to school.",
  "questions": [{"input_text": "What does Ann have?", "turn_id": 1},
                {"input_text": "What color?", "turn_id": 2},
                {"input_text": "Where does she ride it?", "turn_id": 3}],
  "answers": [{"input_text": "a red bike", "turn_id": 1},
              {"input_text": "red", "turn_id": 2},
              {"input_text": "to school", "turn_id": 3}],
  "additional_answers": {
    "0": [{"input_text": "a bike", "turn_id": 1}, {"input_text": "Red.", "turn_id": 2},
          {"input_text": "school", "turn_id": 3}],
    "1": [{"input_text": "bike", "turn_id": 1}, {"input_text": "red", "turn_id": 2},
          {"input_text": "she rides it to school", "turn_id": 3}]}},
 {"source": "reddit", "id": "s2", "story": "Bob likes tea.",
  "questions": [{"input_text": "What does Bob like?", "turn_id": 1},
                {"input_text": "Does he like coffee?", "turn_id": 2}],
  "answers": [{"input_text": "tea", "turn_id": 1}, {"input_text": "unknown", "turn_id": 2}]}
]})";

CoqaDataset Tiny() {
  auto d = ParseCoqaDataset(kTinyCoqa, "tiny");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return *d;
}

TEST(CoqaDataset, ParsesStoriesTurnsAndAllHumanAnswers) {
  const CoqaDataset d = Tiny();
  ASSERT_EQ(d.stories.size(), 2u);
  EXPECT_EQ(d.stories[0].source, "cnn");
  ASSERT_EQ(d.stories[0].turns.size(), 3u);
  EXPECT_EQ(d.stories[0].turns[2].answers,
            (std::vector<std::string>{"to school", "school", "she rides it to school"}));
  EXPECT_EQ(d.stories[1].turns[1].answers, std::vector<std::string>{"unknown"});
  EXPECT_TRUE(d.warnings.empty());
}

TEST(CoqaScore, HandComputedSyntheticScores) {
  const CoqaDataset d = Tiny();
  // s1 t1 "red bike": golds [red, bike] / [bike] / [bike]: F1 per gold [1, 2·(1/2)·1/(3/2) = 2/3,
  //   2/3] → LOO (2/3 + 1 + 1)/3 = 8/9; EM ("a red bike" normalizes to "red bike") [1, 0, 0] →
  //   LOO (0 + 1 + 1)/3 = 2/3; recall [1, 1, 1] → 1.
  // s1 t2 "RED!" → exact against all three: F1 = EM = recall = 1.
  // s1 t3 missing → 0 (counted).
  // s2 t1 "green tea": single gold [tea]: F1 = 2·(1/2)·1/(3/2) = 2/3, EM 0, recall 1.
  // s2 t2 "unknown" → 1, 1, 1.
  // Unknown id and a duplicate (the last one counts) are reported, not scored.
  const std::vector<CoqaPrediction> preds = {{"s1", 1, "red bike"}, {"s1", 2, "blue"},
                                             {"s1", 2, "RED!"},     {"s2", 1, "green tea"},
                                             {"s2", 2, "unknown"},  {"s9", 1, "who?"}};
  const CoqaScores s = ScoreCoqa(d, preds);
  // In-domain (cnn): F1 (8/9 + 1 + 0)/3 = 17/27 = 62.963; EM (2/3 + 1 + 0)/3 = 5/9 = 55.556;
  //   recall (1 + 1 + 0)/3 = 66.667.
  EXPECT_NEAR(s.in_domain.f1, 100.0 * 17 / 27, 1e-9);
  EXPECT_NEAR(s.in_domain.em, 100.0 * 5 / 9, 1e-9);
  EXPECT_NEAR(s.in_domain.recall, 200.0 / 3, 1e-9);
  EXPECT_EQ(s.in_domain.turns, 3);
  EXPECT_NEAR(s.by_source.at("cnn").f1, 100.0 * 17 / 27, 1e-9);
  // Out-of-domain (reddit): F1 (2/3 + 1)/2 = 83.333; EM 1/2 = 50; recall (1 + 1)/2 = 100.
  EXPECT_NEAR(s.out_domain.f1, 250.0 / 3, 1e-9);
  EXPECT_NEAR(s.out_domain.em, 50.0, 1e-9);
  EXPECT_NEAR(s.out_domain.recall, 100.0, 1e-9);
  // Overall: F1 (8/9 + 1 + 0 + 2/3 + 1)/5 = (32/9)/5 = 71.111; EM (2/3 + 1 + 0 + 0 + 1)/5 =
  //   8/15 = 53.333; recall 4/5 = 80.
  EXPECT_NEAR(s.overall.f1, 100.0 * 32 / 45, 1e-9);
  EXPECT_NEAR(s.overall.em, 100.0 * 8 / 15, 1e-9);
  EXPECT_NEAR(s.overall.recall, 80.0, 1e-9);
  EXPECT_EQ(s.overall.turns, 5);
  EXPECT_EQ(s.by_source.at("science").turns, 0);
  EXPECT_EQ(s.missing_predictions, 1);
  EXPECT_EQ(s.unknown_predictions, 1);
  EXPECT_EQ(s.duplicate_predictions, 1);
  EXPECT_EQ(s.unanswerable_turns, 1);  // s2 t2
  EXPECT_EQ(s.unanswerable_correct, 1);
  EXPECT_EQ(s.answerable_refused, 0);
  // "Unknown." where the story answers: an answerable turn answered unknown.
  const CoqaScores refused = ScoreCoqa(d, {{"s2", 1, "Unknown."}, {"s2", 2, "tea"}});
  EXPECT_EQ(refused.unanswerable_turns, 1);
  EXPECT_EQ(refused.unanswerable_correct, 0);
  EXPECT_EQ(refused.answerable_refused, 1);
  ASSERT_EQ(s.turns.size(), 5u);
  EXPECT_FALSE(s.turns[2].has_prediction);
  EXPECT_EQ(s.turns[3].turn_index, 1);
}

TEST(CoqaDataset, MalformedInputIsAnErrorThatSaysWhere) {
  auto bad_json = ParseCoqaDataset("{\"data\": [", "f.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("f.json: not valid JSON"), std::string::npos);

  auto no_story = ParseCoqaDataset(
      R"({"data": [{"source": "cnn", "id": "x", "questions": [], "answers": []}]})", "f.json");
  ASSERT_FALSE(no_story.ok());
  EXPECT_NE(no_story.status().message().find("story 'x' has no text"), std::string::npos);

  auto bad_source = ParseCoqaDataset(
      R"({"data": [{"source": "blog", "id": "x", "story": "s", "questions": [], "answers": []}]})",
      "f.json");
  ASSERT_FALSE(bad_source.ok());
  EXPECT_NE(bad_source.status().message().find("unknown CoQA source 'blog'"), std::string::npos);

  auto short_answers = ParseCoqaDataset(
      R"({"data": [{"source": "cnn", "id": "x", "story": "s",
          "questions": [{"input_text": "q", "turn_id": 1}], "answers": []}]})",
      "f.json");
  ASSERT_FALSE(short_answers.ok());
  EXPECT_NE(short_answers.status().message().find("data[0].answers: has 0 answers"),
            std::string::npos);

  auto wrong_type = ParseCoqaDataset(
      R"({"data": [{"source": "cnn", "id": "x", "story": "s",
          "questions": [{"input_text": 5, "turn_id": 1}],
          "answers": [{"input_text": "a", "turn_id": 1}]}]})",
      "f.json");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("questions[0].input_text: expected a string"),
            std::string::npos);
}

// Issue 16 (9, 2): a turn id below 1 or beyond an int, an out-of-range number or deep nesting is
// an error naming where, never a silent wrap or a crash.
TEST(CoqaPredictions, RefusesImpossibleTurnIdsAndHostileJson) {
  for (const char* bad : {R"([{"id": "s1", "turn_id": -3, "answer": "red"}])",
                          R"([{"id": "s1", "turn_id": 0, "answer": "red"}])",
                          R"([{"id": "s1", "turn_id": 4294967297, "answer": "red"}])"}) {
    auto p = ParseCoqaPredictions(bad, "p.json");
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("[0].turn_id"), std::string::npos) << p.status().message();
  }
  auto huge = ParseCoqaPredictions(R"([{"id": "s1", "turn_id": 1e999, "answer": "red"}])", "p");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("not valid JSON"), std::string::npos);
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto nested = ParseCoqaPredictions(deep, "p.json");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("nested deeper than 64"), std::string::npos);
  auto dataset = ParseCoqaDataset(
      R"({"data": [{"source": "cnn", "id": "x", "story": "s",
          "questions": [{"input_text": "q", "turn_id": -1}],
          "answers": [{"input_text": "a", "turn_id": -1}]}]})",
      "f.json");
  ASSERT_FALSE(dataset.ok());
  EXPECT_NE(dataset.status().message().find("turn_id"), std::string::npos);
}

TEST(CoqaPredictions, ParseAndRoundTrip) {
  auto p = ParseCoqaPredictions(R"([{"id": "s1", "turn_id": 2, "answer": "red"}])", "p");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].turn_id, 2);
  auto again = ParseCoqaPredictions(CoqaPredictionsToJson(*p), "p2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].answer, "red");
  EXPECT_FALSE(ParseCoqaPredictions(R"({"id": "s1"})", "p").ok());
  auto missing = ParseCoqaPredictions(R"([{"id": "s1", "answer": "x"}])", "p");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("[0].turn_id: missing field"), std::string::npos);
}

// The shared sample (one mctest story, 12 turns, 4 human answers each) with predictions covering
// exact, partial, empty, wrong and missing answers. Golds per turn (main, then additional 0,1,2):
//  1 white ×4 · 2 "in a barn" ×3, "in a barn near" · 3 no ×4 · 4 "with her mommy and 5 sisters",
//  "her mommy and 5 other sisters" ×3 · 5 "orange and white", "orange with white tiger stripes",
//  orange, orange · 6 no ×4 · 7 "she painted herself" ×2, "paint herself like them" ×2 ·
//  8 "the farmer", "the farmer's", "the old farmer's", "the farmer's" · 9 (not predicted) ·
//  10 "a bucket of water", "dropped her into a big bucket of water", "into a big bucket of water",
//  "a big bucket of water" · 11 "licked her face" ×4 · 12 no ×4.
TEST(CoqaScore, SharedSampleHandComputed) {
  REQUIRE_SHARED_TESTDATA();
  auto d = LoadCoqaDataset(odlm::testing::SharedTestdataPath("qa/coqa-dev-sample.json"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const std::string id = d->stories.at(0).id;
  const std::vector<CoqaPrediction> preds = {
      {id, 1, "black"},  // replaced by the duplicate below
      {id, 1, "White."},
      // T2 [barn, near, farm, house]: vs [in, barn] common 1 → P 1/4, R 1/2, F1 1/3 (×3);
      //   vs [in, barn, near] common 2 → P 1/2, R 2/3, F1 4/7. LOO (1/3 + 3·4/7)/4 = 43/84.
      //   recall [1/2 ×3, 2/3] → (1/2 + 3·2/3)/4 = 0.625. EM 0.
      {id, 2, "a barn near the farm house"},
      {id, 3, ""},  // empty vs "no": F1 0, EM 0, recall 0
      // T4 [her, mommy, and, 5, sisters] vs 6-token golds sharing 5: P 1, R 5/6, F1 10/11 (all);
      //   recall 5/6. EM 0.
      {id, 4, "her mommy and 5 sisters"},
      {id, 5, "orange"},  // F1 [1/2, 2/5, 1, 1] → 1 (two exact copies); EM 1; recall 1
      {id, 6, "yes"},     // 0, 0, 0
      {id, 7, "she painted herself"},  // two exact golds → F1 = EM = recall = 1
      // T8 [old, farmer] vs [farmer] F1 2/3 (recall 1), vs [farmers] 0, vs [old, farmers] 1/2
      //   (recall 1/2), vs [farmers] 0 → F1 LOO (1/2 + 2/3·3)/4 = 0.625; recall (1/2 + 3)/4 =
      //   0.875; EM 0.
      {id, 8, "the old farmer"},
      // T10 [in, big, bucket] vs [bucket, of, water] 1/3; vs 7 tokens common 2: P 2/3, R 2/7 →
      //   0.4; vs 5 tokens: P 2/3, R 2/5 → 0.5; vs 4 tokens: P 2/3, R 1/2 → 4/7.
      //   LOO (0.5 + 3·4/7)/4 = 31/56. recall [1/3, 2/7, 2/5, 1/2] → (2/5 + 3/2)/4 = 0.475. EM 0.
      {id, 10, "in a big bucket"},
      {id, 11, "licked her face"},
      {id, 12, "No!"},
      {"no-such-story", 1, "x"},
  };
  const CoqaScores s = ScoreCoqa(*d, preds);
  // F1 = (1 + 43/84 + 0 + 10/11 + 1 + 0 + 1 + 0.625 + 0 + 31/56 + 1 + 1)/12   (five 1s)
  //    = (5.625 + 0.5119048 + 0.9090909 + 0.5535714)/12 = 7.5995671/12 = 63.33%.
  const double f1 = (5.625 + 43.0 / 84 + 10.0 / 11 + 31.0 / 56) / 12;
  EXPECT_NEAR(s.overall.f1, 100 * f1, 1e-6);
  EXPECT_NEAR(s.overall.f1, 63.33, 0.01);
  // EM: turns 1, 5, 7, 11, 12 → 5/12 = 41.67%.
  EXPECT_NEAR(s.overall.em, 41.67, 0.01);
  // recall = (1 + 0.625 + 0 + 5/6 + 1 + 0 + 1 + 0.875 + 0 + 0.475 + 1 + 1)/12 = 7.808333/12
  //        = 65.07%.
  EXPECT_NEAR(s.overall.recall, 65.07, 0.01);
  EXPECT_NEAR(s.in_domain.f1, s.overall.f1, 1e-9);
  EXPECT_NEAR(s.by_source.at("mctest").f1, s.overall.f1, 1e-9);
  EXPECT_EQ(s.out_domain.turns, 0);
  EXPECT_EQ(s.out_domain.f1, 0.0);
  EXPECT_EQ(s.missing_predictions, 1);
  EXPECT_EQ(s.unknown_predictions, 1);
  EXPECT_EQ(s.duplicate_predictions, 1);
}

TEST(CoqaScore, SharedSampleMainAnswersAsPredictions) {
  REQUIRE_SHARED_TESTDATA();
  auto d = LoadCoqaDataset(odlm::testing::SharedTestdataPath("qa/coqa-dev-sample.json"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  // Predicting the main answer: every leave-one-out subset that keeps it scores 1, the subset
  // without it scores the best additional answer. Turns where an additional answer equals the
  // main one after normalization (1, 3, 6, 7, 11, 12: white, no, she painted herself, licked her
  // face) score 1. Others: T2 "in a barn" vs [in a barn, in a barn, in a barn near] → 1 too.
  // T4 "with her mommy and 5 sisters" (6 tok) vs "her mommy and 5 other sisters" ×3: common 5,
  //   P = R = 5/6 → LOO (5/6 + 3)/4 = 23/24.
  // T5 "orange and white" [orange, and, white] vs "orange with white tiger stripes": common 2,
  //   P 2/3, R 2/5 → F1 1/2; vs "orange" ×2: P 1/3, R 1 → 1/2. LOO (1/2 + 3)/4 = 7/8.
  // T8 "the farmer" [farmer] vs [farmers] 0, [old, farmers] 0, [farmers] 0 → 3/4.
  // T9 "they started laughing" vs "they started laughing" → 1 (a copy remains).
  // T10 [bucket, of, water] vs "dropped her into a big bucket of water" (7): P 1, R 3/7 → 3/5;
  //   vs 5 tokens: P 1, R 3/5 → 3/4; vs 4 tokens: P 1, R 3/4 → 6/7 → (6/7 + 3)/4 = 27/28.
  // F1 = (8 + 23/24 + 7/8 + 3/4 + 27/28)/12 = (8 + 0.9583333 + 0.875 + 0.75 + 0.9642857)/12
  //    = 11.547619/12 = 96.23%.
  std::vector<CoqaPrediction> preds;
  for (const auto& t : d->stories[0].turns)
    preds.push_back({d->stories[0].id, t.turn_id, t.answers[0]});
  const CoqaScores s = ScoreCoqa(*d, preds);
  EXPECT_NEAR(s.overall.f1, 100 * (8 + 23.0 / 24 + 7.0 / 8 + 3.0 / 4 + 27.0 / 28) / 12, 1e-6);
  EXPECT_NEAR(s.overall.f1, 96.23, 0.01);
  // EM: 1 for the 8 turns where another human answer normalizes to the main one (1, 2, 3, 6, 7,
  //   9, 11, 12); T4, T5, T8, T10 have no such copy: 1 in the 3 subsets that keep the main
  //   answer, 0 in the one that leaves it out → 3/4. EM = (8 + 4·3/4)/12 = 11/12 = 91.67%.
  EXPECT_NEAR(s.overall.em, 100.0 * 11 / 12, 1e-6);
  EXPECT_EQ(s.missing_predictions, 0);
}

}  // namespace
}  // namespace odlm::eval
