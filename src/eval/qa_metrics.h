// eval/qa_metrics.h — answer normalization and token-overlap metrics of the official CoQA and QuAC
// scorers (docs/EVAL.md), written from their published definitions.
//
// Normalization (both scorers): Python str.lower(); delete every ASCII punctuation character
// (Python's string.punctuation, 32 characters: non-ASCII quotes and dashes stay); replace each
// whole word (\b-delimited, Python \w) "a", "an" or "the" with a space; split on whitespace and
// join with single spaces. Tokens = the normalized string split on spaces.
//
// The two scorers differ on empty answers, so each has its own F1:
//   CoqaF1: if either side has no tokens, 1 when both have none, else 0 (evaluate-v1.0).
//   QuacF1: 0 whenever no token is shared, including both empty (scorer.py).
// All functions are pure and thread-safe; cost is linear in the text lengths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace odlm::eval {

std::string NormalizeAnswer(std::string_view text);
std::vector<std::string> AnswerTokens(std::string_view text);

// Number of tokens two multisets share (sum over tokens of the smaller count).
int CommonTokenCount(const std::vector<std::string>& a, const std::vector<std::string>& b);

// CoQA's token F1 of a prediction against one gold answer, in [0, 1].
double CoqaF1(std::string_view gold, std::string_view pred);
// QuAC's token F1 (no special case for empty strings), in [0, 1].
double QuacF1(std::string_view pred, std::string_view gold);
// 1 if the normalized strings are equal, else 0.
double ExactMatch(std::string_view gold, std::string_view pred);
// |shared tokens| / |gold tokens| (the recall CoDi reports for CoQA); empty cases as CoqaF1:
// both empty → 1, exactly one empty → 0.
double TokenRecall(std::string_view gold, std::string_view pred);

// Leave-one-out averaging over n references, as both official scorers do it: for n > 1, the mean
// over i of max_{j != i} score[j]; for n == 1, score[0]; for n == 0, 0. `per_reference[j]` is the
// prediction's score against reference j. O(n).
double LeaveOneOutMax(const std::vector<double>& per_reference);

// Scores of one prediction against a CoQA turn's human answers (main answer first, then the
// additional ones), each leave-one-out averaged as evaluate-v1.0 does for F1 and EM.
struct TurnOverlap {
  double f1 = 0;
  double em = 0;
  double recall = 0;
};
TurnOverlap CoqaTurnScore(const std::vector<std::string>& golds, std::string_view pred);

}  // namespace odlm::eval
