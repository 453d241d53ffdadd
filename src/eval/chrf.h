// eval/chrf.h — chrF, the character n-gram F-score, as sacreBLEU computes it by default
// (CHRF(char_order=6, word_order=0, beta=2, lowercase=False, whitespace=False,
// eps_smoothing=False), signature "nc:6|nw:0|space:no").
//
// Characters are Unicode code points; all whitespace is removed before n-grams are taken. For each
// order n = 1..6 the statistics are (#hyp n-grams, #ref n-grams, #clipped matches); a corpus score
// sums them over all sentence pairs. Then precision and recall are averaged over the orders where
// both the hypothesis and the reference have n-grams, and chrF = 100·(1+β²)·P·R / (β²·P + R)
// (0 when P + R = 0). One reference per hypothesis. Pure, thread-safe, O(length · 6).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace odlm::eval {

inline constexpr int kChrfOrder = 6;
inline constexpr double kChrfBeta = 2.0;

struct ChrfStats {
  std::array<int64_t, kChrfOrder> hyp{}, ref{}, match{};
  void Add(const ChrfStats& other);
};

ChrfStats ChrfSentenceStats(std::string_view reference, std::string_view hypothesis);
double ChrfFromStats(const ChrfStats& stats, double beta = kChrfBeta);  // ×100

double SentenceChrf(std::string_view reference, std::string_view hypothesis);
// Corpus chrF from summed statistics; refs and hyps must have the same size (CHECK).
double CorpusChrf(const std::vector<std::string>& refs, const std::vector<std::string>& hyps);

}  // namespace odlm::eval
