// eval/rouge_chrf_test.cc — ROUGE, the Porter stemmer and chrF against hand-checked values.
#include <gtest/gtest.h>

#include "eval/chrf.h"
#include "eval/porter_stemmer.h"
#include "eval/rouge.h"

namespace odlm::eval {
namespace {

TEST(PorterStemmer, ExamplesFromThePaper) {
  // Word → stem after all steps, for the examples Porter (1980) uses to illustrate each step.
  const std::pair<const char*, const char*> cases[] = {
      {"caresses", "caress"},
      {"ponies", "poni"},
      {"ties", "ti"},
      {"caress", "caress"},
      {"cats", "cat"},
      {"feed", "feed"},
      {"agreed", "agre"},
      {"plastered", "plaster"},
      {"bled", "bled"},
      {"motoring", "motor"},
      {"sing", "sing"},
      {"conflated", "conflat"},
      {"troubled", "troubl"},
      {"sized", "size"},
      {"hopping", "hop"},
      {"tanned", "tan"},
      {"falling", "fall"},
      {"hissing", "hiss"},
      {"fizzed", "fizz"},
      {"failing", "fail"},
      {"filing", "file"},
      {"happy", "happi"},
      {"sky", "sky"},
      {"relational", "relat"},
      {"conditional", "condit"},
      {"rational", "ration"},
      {"valenci", "valenc"},
      {"hesitanci", "hesit"},
      {"digitizer", "digit"},
      {"conformabli", "conform"},
      {"radicalli", "radic"},
      {"differentli", "differ"},
      {"vileli", "vile"},
      {"analogousli", "analog"},
      {"vietnamization", "vietnam"},
      {"predication", "predic"},
      {"operator", "oper"},
      {"feudalism", "feudal"},
      {"decisiveness", "decis"},
      {"hopefulness", "hope"},
      {"callousness", "callous"},
      {"formaliti", "formal"},
      {"sensitiviti", "sensit"},
      {"sensibiliti", "sensibl"},
      {"triplicate", "triplic"},
      {"formative", "form"},
      {"formalize", "formal"},
      {"electriciti", "electr"},
      {"electrical", "electr"},
      {"hopeful", "hope"},
      {"goodness", "good"},
      {"revival", "reviv"},
      {"allowance", "allow"},
      {"inference", "infer"},
      {"airliner", "airlin"},
      {"gyroscopic", "gyroscop"},
      {"adjustable", "adjust"},
      {"defensible", "defens"},
      {"irritant", "irrit"},
      {"replacement", "replac"},
      {"adjustment", "adjust"},
      {"dependent", "depend"},
      {"adoption", "adopt"},
      {"homologou", "homolog"},
      {"communism", "commun"},
      {"activate", "activ"},
      {"angulariti", "angular"},
      {"homologous", "homolog"},
      {"effective", "effect"},
      {"bowdlerize", "bowdler"},
      {"probate", "probat"},
      {"rate", "rate"},
      {"cease", "ceas"},
      {"controll", "control"},
      {"roll", "roll"},
      {"generalizations", "gener"},
      {"oscillators", "oscil"},
  };
  for (const auto& [word, stem] : cases) EXPECT_EQ(PorterStem(word), stem) << word;
  // Original algorithm, not NLTK's extensions: "dying" → "dy" (NLTK: "die"); "sly" stays, since
  // step 1c needs a vowel in the stem "sl" (NLTK: "sli").
  EXPECT_EQ(PorterStem("dying"), "dy");
  EXPECT_EQ(PorterStem("sly"), "sly");
}

TEST(Rouge, TokenizesLikeRougeScore) {
  EXPECT_EQ(RougeTokenize("The U.S. co-op, 2024!", false),
            (std::vector<std::string>{"the", "u", "s", "co", "op", "2024"}));
  // Non-ASCII letters separate tokens; only tokens longer than 3 characters are stemmed.
  EXPECT_EQ(RougeTokenize("caf\u00e9 runs was", true),
            (std::vector<std::string>{"caf", "run", "was"}));
}

TEST(Rouge, HandComputedScores) {
  // ref [the cat sat on the mat] (6), hyp [the cat lay on the mat today] (7).
  // ROUGE-1: overlap the×2 + cat + on + mat = 5: P 5/7, R 5/6, F = 2·(25/42)/(65/42) = 10/13.
  // ROUGE-2: ref {the-cat, cat-sat, sat-on, on-the, the-mat}, hyp {the-cat, cat-lay, lay-on,
  //   on-the, the-mat, mat-today}: overlap 3: P 3/6, R 3/5, F = 0.6/1.1 = 6/11.
  // ROUGE-L: LCS "the cat on the mat" = 5 → as ROUGE-1: 10/13.
  const RougeScores s =
      ScoreRouge("The cat sat on the mat.", "the cat lay on the mat today", false);
  EXPECT_NEAR(s.rouge1.precision, 5.0 / 7, 1e-12);
  EXPECT_NEAR(s.rouge1.recall, 5.0 / 6, 1e-12);
  EXPECT_NEAR(s.rouge1.f, 10.0 / 13, 1e-12);
  EXPECT_NEAR(s.rouge2.f, 6.0 / 11, 1e-12);
  EXPECT_NEAR(s.rougeL.f, 10.0 / 13, 1e-12);
}

TEST(Rouge, StemmingMatchesInflections) {
  // Unstemmed: [running, dogs, jumped] vs [the, dog, runs, and, jumps] share nothing → 0.
  const RougeScores plain = ScoreRouge("running dogs jumped", "the dog runs and jumps", false);
  EXPECT_EQ(plain.rouge1.f, 0.0);
  // Stemmed (tokens > 3 chars): ref [run, dog, jump]; hyp [the, dog, run, and, jump] (the, dog,
  // and have 3 characters and stay). ROUGE-1: 3 shared: P 3/5, R 1 → F 0.75. ROUGE-2: ref
  // {run-dog, dog-jump}, hyp {the-dog, dog-run, run-and, and-jump} → 0. ROUGE-L: LCS 2 ("dog
  // jump") → P 2/5, R 2/3 → F = 2·(4/15)/(16/15) = 0.5.
  const RougeScores stem = ScoreRouge("running dogs jumped", "the dog runs and jumps", true);
  EXPECT_NEAR(stem.rouge1.f, 0.75, 1e-12);
  EXPECT_EQ(stem.rouge2.f, 0.0);
  EXPECT_NEAR(stem.rougeL.f, 0.5, 1e-12);
}

TEST(Rouge, EmptySidesAndCorpusMean) {
  const RougeScores empty = ScoreRouge("", "something", false);
  EXPECT_EQ(empty.rouge1.f, 0.0);
  EXPECT_EQ(empty.rougeL.f, 0.0);
  // Corpus = mean of per-pair F ×100: (10/13 + 1)/2 = 88.46 for ROUGE-1.
  const RougeScores c = CorpusRouge({"The cat sat on the mat.", "a b"},
                                    {"the cat lay on the mat today", "A B"}, false);
  EXPECT_NEAR(c.rouge1.f, 100.0 * (10.0 / 13 + 1) / 2, 1e-9);
  EXPECT_NEAR(c.rouge1.f, 88.46, 0.01);
}

TEST(Chrf, HandComputedSentenceScores) {
  // "abd" vs ref "abc": 1-grams 2 of 3 match (P = R = 2/3), 2-grams {ab, bd} vs {ab, bc}: 1 of 2
  // (1/2), 3-grams 0 of 1 (0); orders 4–6 have no n-grams and are not averaged. P = R = (2/3 +
  // 1/2 + 0)/3 = 7/18 and F_β = P when P = R → 38.89.
  EXPECT_NEAR(SentenceChrf("abc", "abd"), 100.0 * 7 / 18, 1e-9);
  // Whitespace is removed: "a b c" vs "ab c" are both "abc" → 100.
  EXPECT_NEAR(SentenceChrf("a b c", "ab c"), 100.0, 1e-9);
  // hyp "ab" vs ref "abcd": P1 = 2/2, R1 = 2/4; P2 = 1/1, R2 = 1/3; orders ≥ 3: no hyp n-grams.
  // P = 1, R = (1/2 + 1/3)/2 = 5/12; chrF = 5·P·R/(4P + R) = (25/12)/(53/12) = 25/53 → 47.17.
  EXPECT_NEAR(SentenceChrf("abcd", "ab"), 100.0 * 25 / 53, 1e-9);
  // Characters are code points: "日本" vs "日本語": P = 1, R = (2/3 + 1/2)/2 = 7/12 →
  // 5·(7/12)/(4 + 7/12) = 35/55 → 63.64.
  EXPECT_NEAR(SentenceChrf("\u65e5\u672c\u8a9e", "\u65e5\u672c"), 100.0 * 7 / 11, 1e-9);
  EXPECT_EQ(SentenceChrf("", "abc"), 0.0);
}

TEST(Chrf, CorpusSumsStatisticsBeforeAveraging) {
  // Pairs (abc, abd) and (abcd, ab): summed per order — 1: hyp 5, ref 7, match 4; 2: hyp 3,
  // ref 5, match 2; 3: hyp 1, ref 3, match 0 (order 4+: no hyp n-grams).
  // P = (4/5 + 2/3 + 0)/3 = 22/45, R = (4/7 + 2/5 + 0)/3 = 34/105.
  // chrF = 5PR/(4P + R) = (3740/4725)/(10770/4725) = 374/1077 → 34.73.
  EXPECT_NEAR(CorpusChrf({"abc", "abcd"}, {"abd", "ab"}), 100.0 * 374 / 1077, 1e-9);
  EXPECT_NEAR(CorpusChrf({"abc", "abcd"}, {"abd", "ab"}), 34.73, 0.01);
}

}  // namespace
}  // namespace odlm::eval
