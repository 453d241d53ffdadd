// eval/chrf.cc — sacreBLEU's default chrF.
#include "eval/chrf.h"

#include <algorithm>
#include <map>

#include "base/check.h"
#include "eval/unicode_text.h"

namespace odlm::eval {
namespace {

std::u32string WithoutSpace(std::string_view text) {
  std::u32string out;
  for (char32_t cp : DecodeUtf8(text)) {
    if (!IsPythonSpace(cp)) out.push_back(cp);
  }
  return out;
}

std::map<std::u32string_view, int64_t> NgramCounts(const std::u32string& s, size_t n) {
  std::map<std::u32string_view, int64_t> counts;
  for (size_t i = 0; i + n <= s.size(); ++i) ++counts[std::u32string_view(s).substr(i, n)];
  return counts;
}

}  // namespace

void ChrfStats::Add(const ChrfStats& other) {
  for (int i = 0; i < kChrfOrder; ++i) {
    hyp[i] += other.hyp[i];
    ref[i] += other.ref[i];
    match[i] += other.match[i];
  }
}

ChrfStats ChrfSentenceStats(std::string_view reference, std::string_view hypothesis) {
  const std::u32string ref = WithoutSpace(reference);
  const std::u32string hyp = WithoutSpace(hypothesis);
  ChrfStats st;
  for (int k = 0; k < kChrfOrder; ++k) {
    const size_t n = static_cast<size_t>(k) + 1;
    const auto rc = NgramCounts(ref, n);
    const auto hc = NgramCounts(hyp, n);
    for (const auto& [g, c] : hc) {
      st.hyp[k] += c;
      auto it = rc.find(g);
      if (it != rc.end()) st.match[k] += std::min(c, it->second);
    }
    for (const auto& [g, c] : rc) st.ref[k] += c;
  }
  return st;
}

double ChrfFromStats(const ChrfStats& st, double beta) {
  double precision = 0, recall = 0;
  int effective = 0;
  for (int k = 0; k < kChrfOrder; ++k) {
    if (st.hyp[k] > 0 && st.ref[k] > 0) {
      precision += static_cast<double>(st.match[k]) / static_cast<double>(st.hyp[k]);
      recall += static_cast<double>(st.match[k]) / static_cast<double>(st.ref[k]);
      ++effective;
    }
  }
  if (effective == 0) return 0.0;
  precision /= effective;
  recall /= effective;
  if (precision + recall == 0) return 0.0;
  const double b2 = beta * beta;
  return 100.0 * (1 + b2) * precision * recall / (b2 * precision + recall);
}

double SentenceChrf(std::string_view reference, std::string_view hypothesis) {
  return ChrfFromStats(ChrfSentenceStats(reference, hypothesis));
}

double CorpusChrf(const std::vector<std::string>& refs, const std::vector<std::string>& hyps) {
  CHECK(refs.size() == hyps.size())
      << "CorpusChrf: " << refs.size() << " references but " << hyps.size() << " hypotheses";
  ChrfStats total;
  for (size_t i = 0; i < refs.size(); ++i) total.Add(ChrfSentenceStats(refs[i], hyps[i]));
  return ChrfFromStats(total);
}

}  // namespace odlm::eval
