// eval/qa_metrics_test.cc — normalization and token metrics against hand-computed values.
#include "eval/qa_metrics.h"

#include <gtest/gtest.h>

#include "eval/unicode_text.h"

namespace odlm::eval {
namespace {

TEST(NormalizeAnswer, LowercasesDropsPunctuationArticlesAndExtraSpace) {
  EXPECT_EQ(NormalizeAnswer("The  Cat, sat!"), "cat sat");
  EXPECT_EQ(NormalizeAnswer("An apple a day"), "apple day");
  // Articles only as whole words: "another", "theme", "and" survive.
  EXPECT_EQ(NormalizeAnswer("another theme and a"), "another theme and");
  // Punctuation is removed before articles: "the-end" → "theend"; "a.b" → "ab".
  EXPECT_EQ(NormalizeAnswer("the-end a.b"), "theend ab");
  // Apostrophe removed: "farmer's" → "farmers".
  EXPECT_EQ(NormalizeAnswer("the farmer's"), "farmers");
  EXPECT_EQ(NormalizeAnswer(""), "");
  EXPECT_EQ(NormalizeAnswer("  ...  "), "");
}

TEST(NormalizeAnswer, NonAsciiFollowsPython) {
  // Curly quotes are not in string.punctuation: they stay, and "the" next to them is still a
  // whole word (\b between ” and t).
  EXPECT_EQ(NormalizeAnswer("\u201cThe end\u201d"), "\u201c end\u201d");
  // Accented capitals lowercase; "à" is a word character so "à" + "a" is one word.
  EXPECT_EQ(NormalizeAnswer("\u00C9T\u00C9 \u00e0a"), "\u00e9t\u00e9 \u00e0a");
  // No-break space and ideographic space split words.
  EXPECT_EQ(NormalizeAnswer("a\u00a0b\u3000the c"), "b c");
  // Greek final sigma.
  EXPECT_EQ(NormalizeAnswer("\u039F\u0394\u039F\u03A3"), "\u03bf\u03b4\u03bf\u03c2");
}

TEST(TokenF1, CoqaAndQuacDifferOnlyOnEmptyAnswers) {
  // gold "in a barn" → [in, barn]; pred "a barn near" → [barn, near]; common 1:
  // P = 1/2, R = 1/2, F1 = 0.5.
  EXPECT_NEAR(CoqaF1("in a barn", "a barn near"), 0.5, 1e-12);
  EXPECT_NEAR(QuacF1("a barn near", "in a barn"), 0.5, 1e-12);
  // gold [her, mommy, and, 5, other, sisters] (6), pred [with, her, mommy, and, 5, sisters] (6):
  // common 5 → P = R = 5/6 → F1 = 5/6.
  EXPECT_NEAR(CoqaF1("her mommy and 5 other sisters", "with her mommy and 5 sisters"), 5.0 / 6,
              1e-12);
  // Repeated tokens are clipped: gold [no] vs pred [no, no]: common 1, P = 1/2, R = 1 → 2/3.
  EXPECT_NEAR(CoqaF1("no", "no no"), 2.0 / 3, 1e-12);
  // Empty: CoQA 1 when both empty (after normalization), QuAC always 0.
  EXPECT_EQ(CoqaF1("", "the"), 1.0);
  EXPECT_EQ(CoqaF1("", "x"), 0.0);
  EXPECT_EQ(CoqaF1("x", ""), 0.0);
  EXPECT_EQ(QuacF1("", ""), 0.0);
  EXPECT_EQ(QuacF1("the", "a"), 0.0);
}

TEST(TokenMetrics, ExactMatchAndRecall) {
  EXPECT_EQ(ExactMatch("No", "no."), 1.0);
  EXPECT_EQ(ExactMatch("the farmer", "farmer's"), 0.0);
  // recall = |common| / |gold|: gold [bucket, of, water], pred [big, bucket, of, water, now]
  // → 3/3 = 1 (while F1 = 2·(3/5)·1/(3/5+1) = 0.75).
  EXPECT_EQ(TokenRecall("a bucket of water", "a big bucket of water now"), 1.0);
  EXPECT_NEAR(CoqaF1("a bucket of water", "a big bucket of water now"), 0.75, 1e-12);
  EXPECT_NEAR(TokenRecall("orange and white", "orange"), 1.0 / 3, 1e-12);
  EXPECT_EQ(TokenRecall("", ""), 1.0);
  EXPECT_EQ(TokenRecall("x", ""), 0.0);
}

TEST(LeaveOneOut, AveragesMaxOverSubsets) {
  EXPECT_EQ(LeaveOneOutMax({}), 0.0);
  EXPECT_EQ(LeaveOneOutMax({0.3}), 0.3);
  // {1, 0, 0, 0}: leaving out ref 0 → max 0; leaving out any other → 1: (0+1+1+1)/4 = 0.75.
  EXPECT_NEAR(LeaveOneOutMax({1, 0, 0, 0}), 0.75, 1e-12);
  // {1, 1, 0, 0}: every subset still holds a 1 → 1.
  EXPECT_NEAR(LeaveOneOutMax({1, 1, 0, 0}), 1.0, 1e-12);
  // {0.2, 0.5, 0.9}: out 0 → 0.9, out 1 → 0.9, out 2 → 0.5: 2.3/3.
  EXPECT_NEAR(LeaveOneOutMax({0.2, 0.5, 0.9}), 2.3 / 3, 1e-12);
}

TEST(CoqaTurnScore, LeaveOneOutOverHumanAnswers) {
  // Turn 5 of the CoQA sample: golds "orange and white", "orange with white tiger stripes",
  // "orange", "orange". Prediction "orange":
  //  F1 per gold: [2·(1/1)(1/3)/(4/3) = 0.5, 2·1·(1/4)/(5/4) = 0.4, 1, 1] → LOO: every subset keeps
  //  a 1 → F1 = 1. EM per gold [0, 0, 1, 1] → 1. Recall [1/3, 1/4, 1, 1] → 1.
  const std::vector<std::string> golds = {"orange and white", "orange with white tiger stripes",
                                          "orange", "orange"};
  TurnOverlap t = CoqaTurnScore(golds, "orange");
  EXPECT_NEAR(t.f1, 1.0, 1e-12);
  EXPECT_NEAR(t.em, 1.0, 1e-12);
  EXPECT_NEAR(t.recall, 1.0, 1e-12);
  // Prediction "orange and white": F1 [1, 2·(2/3)(2/5)/(16/15) = 0.5, 0.5, 0.5]
  //  → LOO (0.5 + 1 + 1 + 1)/4 = 0.875; EM [1, 0, 0, 0] → 0.75; recall [1, 2/5, 1, 1] → 1.
  t = CoqaTurnScore(golds, "orange and white");
  EXPECT_NEAR(t.f1, 0.875, 1e-12);
  EXPECT_NEAR(t.em, 0.75, 1e-12);
  EXPECT_NEAR(t.recall, 1.0, 1e-12);
}

TEST(UnicodeText, DecodeEncodeRoundTripAndInvalidBytes) {
  const std::string s = "a\u00e9\u4e2d\U0001F600";
  EXPECT_EQ(EncodeUtf8(DecodeUtf8(s)), s);
  EXPECT_EQ(DecodeUtf8("\xff"
                       "a"),
            std::u32string(U"\uFFFDa"));
  EXPECT_EQ(DecodeUtf8("\xe4\xb8"), std::u32string(U"\uFFFD\uFFFD"));
  EXPECT_EQ(PythonSplit(U"  a \u2003b\n"), (std::vector<std::u32string>{U"a", U"b"}));
}

}  // namespace
}  // namespace odlm::eval
