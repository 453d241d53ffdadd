// eval/rouge.h — ROUGE-1, ROUGE-2 and ROUGE-L (precision, recall, F-measure) as Google's
// rouge-score package computes them, optionally with the Porter stemmer.
//
// Tokenization (rouge-score's default tokenizer): lowercase; every character other than a–z and
// 0–9 separates tokens (so non-ASCII letters never form tokens); with stemming, tokens longer than
// 3 characters are Porter-stemmed (porter_stemmer.h: original 1980 algorithm, see there).
// ROUGE-N: clipped n-gram overlap; P = overlap / max(1, #hyp n-grams), R = overlap / max(1, #ref
// n-grams), F = 2PR / (P + R) (0 when P + R = 0). ROUGE-L: LCS of the token sequences; P = LCS /
// |hyp|, R = LCS / |ref|; all 0 when either side has no token. The corpus score is the mean of the
// per-pair values (rouge-score reports the same mean, with bootstrap intervals around it).
// Pure, thread-safe. ROUGE-L costs O(|hyp|·|ref|) time and O(|ref|) memory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace odlm::eval {

std::vector<std::string> RougeTokenize(std::string_view text, bool stem);

struct PrecisionRecallF {
  double precision = 0;
  double recall = 0;
  double f = 0;
};

struct RougeScores {
  PrecisionRecallF rouge1, rouge2, rougeL;
};

RougeScores ScoreRouge(std::string_view reference, std::string_view hypothesis, bool stem);

// Mean over pairs of each component, ×100. refs and hyps must have the same size (CHECK).
RougeScores CorpusRouge(const std::vector<std::string>& refs, const std::vector<std::string>& hyps,
                        bool stem);

}  // namespace odlm::eval
