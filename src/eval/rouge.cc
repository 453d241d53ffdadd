// eval/rouge.cc — ROUGE-N and ROUGE-L over rouge-score's tokenization.
#include "eval/rouge.h"

#include <algorithm>
#include <map>

#include "base/check.h"
#include "eval/porter_stemmer.h"

namespace odlm::eval {
namespace {

PrecisionRecallF MakePrf(double precision, double recall) {
  PrecisionRecallF s;
  s.precision = precision;
  s.recall = recall;
  s.f = (precision + recall > 0) ? 2.0 * precision * recall / (precision + recall) : 0.0;
  return s;
}

PrecisionRecallF NgramScore(const std::vector<std::string>& ref,
                            const std::vector<std::string>& hyp, size_t n) {
  std::map<std::vector<std::string>, int> ref_counts, hyp_counts;
  int ref_total = 0, hyp_total = 0;
  for (size_t i = 0; i + n <= ref.size(); ++i) {
    ++ref_counts[std::vector<std::string>(ref.begin() + i, ref.begin() + i + n)];
    ++ref_total;
  }
  for (size_t i = 0; i + n <= hyp.size(); ++i) {
    ++hyp_counts[std::vector<std::string>(hyp.begin() + i, hyp.begin() + i + n)];
    ++hyp_total;
  }
  int overlap = 0;
  for (const auto& [gram, c] : ref_counts) {
    auto it = hyp_counts.find(gram);
    if (it != hyp_counts.end()) overlap += std::min(c, it->second);
  }
  return MakePrf(static_cast<double>(overlap) / std::max(1, hyp_total),
                 static_cast<double>(overlap) / std::max(1, ref_total));
}

size_t LcsLength(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<size_t> prev(b.size() + 1, 0), cur(b.size() + 1, 0);  // [|b| + 1] rolling rows
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = (a[i - 1] == b[j - 1]) ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> RougeTokenize(std::string_view text, bool stem) {
  std::vector<std::string> tokens;
  std::string cur;
  auto flush = [&]() {
    if (cur.empty()) return;
    tokens.push_back(stem && cur.size() > 3 ? PorterStem(cur) : cur);
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
    // Python lowercases two non-ASCII letters to ASCII ones: U+212A KELVIN SIGN → "k" and U+0130
    // → "i" + U+0307 (the combining dot then separates).
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x84 &&
        static_cast<unsigned char>(text[i + 2]) == 0xAA) {
      cur.push_back('k');
      i += 2;
      continue;
    }
    if (c == 0xC4 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xB0) {
      cur.push_back('i');
      flush();
      i += 1;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      cur.push_back(static_cast<char>(c));
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

RougeScores ScoreRouge(std::string_view reference, std::string_view hypothesis, bool stem) {
  const auto ref = RougeTokenize(reference, stem);
  const auto hyp = RougeTokenize(hypothesis, stem);
  RougeScores s;
  s.rouge1 = NgramScore(ref, hyp, 1);
  s.rouge2 = NgramScore(ref, hyp, 2);
  if (!ref.empty() && !hyp.empty()) {
    const double lcs = static_cast<double>(LcsLength(ref, hyp));
    s.rougeL = MakePrf(lcs / hyp.size(), lcs / ref.size());
  }
  return s;
}

RougeScores CorpusRouge(const std::vector<std::string>& refs, const std::vector<std::string>& hyps,
                        bool stem) {
  CHECK(refs.size() == hyps.size())
      << "CorpusRouge: " << refs.size() << " references but " << hyps.size() << " hypotheses";
  RougeScores mean;
  if (refs.empty()) return mean;
  auto add = [](PrecisionRecallF* acc, const PrecisionRecallF& v) {
    acc->precision += v.precision;
    acc->recall += v.recall;
    acc->f += v.f;
  };
  for (size_t i = 0; i < refs.size(); ++i) {
    const RougeScores s = ScoreRouge(refs[i], hyps[i], stem);
    add(&mean.rouge1, s.rouge1);
    add(&mean.rouge2, s.rouge2);
    add(&mean.rougeL, s.rougeL);
  }
  const double k = 100.0 / static_cast<double>(refs.size());
  for (PrecisionRecallF* p : {&mean.rouge1, &mean.rouge2, &mean.rougeL}) {
    p->precision *= k;
    p->recall *= k;
    p->f *= k;
  }
  return mean;
}

}  // namespace odlm::eval
