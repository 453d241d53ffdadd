// eval/qa_metrics.cc — normalization, token F1/EM/recall and leave-one-out averaging.
#include "eval/qa_metrics.h"

#include <algorithm>
#include <unordered_map>

#include "eval/unicode_text.h"

namespace odlm::eval {
namespace {

bool IsAsciiPunctuation(char32_t cp) {
  // Python's string.punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0x7E);
}

bool IsArticle(std::u32string_view word) { return word == U"a" || word == U"an" || word == U"the"; }

double F1FromCounts(int common, size_t n_pred, size_t n_gold) {
  const double precision = static_cast<double>(common) / static_cast<double>(n_pred);
  const double recall = static_cast<double>(common) / static_cast<double>(n_gold);
  return 2.0 * precision * recall / (precision + recall);
}

}  // namespace

std::string NormalizeAnswer(std::string_view text) {
  // 1. lower  2. remove ASCII punctuation.
  const std::u32string lowered = PythonLower(DecodeUtf8(text));
  std::u32string no_punct;
  no_punct.reserve(lowered.size());
  for (char32_t cp : lowered) {
    if (!IsAsciiPunctuation(cp)) no_punct.push_back(cp);
  }
  // 3. \b(a|an|the)\b → " ": a match is always a whole maximal run of word characters.
  std::u32string no_articles;
  no_articles.reserve(no_punct.size());
  size_t i = 0;
  while (i < no_punct.size()) {
    if (!IsPythonWordChar(no_punct[i])) {
      no_articles.push_back(no_punct[i++]);
      continue;
    }
    size_t start = i;
    while (i < no_punct.size() && IsPythonWordChar(no_punct[i])) ++i;
    std::u32string_view word(no_punct.data() + start, i - start);
    if (IsArticle(word)) {
      no_articles.push_back(U' ');
    } else {
      no_articles.append(word);
    }
  }
  // 4. ' '.join(text.split())
  std::string out;
  for (const auto& field : PythonSplit(no_articles)) {
    if (!out.empty()) out.push_back(' ');
    out += EncodeUtf8(field);
  }
  return out;
}

std::vector<std::string> AnswerTokens(std::string_view text) {
  std::vector<std::string> tokens;
  const std::string norm = NormalizeAnswer(text);
  size_t i = 0;
  while (i < norm.size()) {
    size_t j = norm.find(' ', i);
    if (j == std::string::npos) j = norm.size();
    if (j > i) tokens.emplace_back(norm.substr(i, j - i));
    i = j + 1;
  }
  return tokens;
}

int CommonTokenCount(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::unordered_map<std::string_view, int> counts;
  for (const auto& t : a) ++counts[t];
  int common = 0;
  for (const auto& t : b) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  return common;
}

double CoqaF1(std::string_view gold, std::string_view pred) {
  const auto g = AnswerTokens(gold);
  const auto p = AnswerTokens(pred);
  if (g.empty() || p.empty()) return (g.empty() && p.empty()) ? 1.0 : 0.0;
  const int common = CommonTokenCount(g, p);
  if (common == 0) return 0.0;
  return F1FromCounts(common, p.size(), g.size());
}

double QuacF1(std::string_view pred, std::string_view gold) {
  const auto p = AnswerTokens(pred);
  const auto g = AnswerTokens(gold);
  const int common = CommonTokenCount(p, g);
  if (common == 0) return 0.0;
  return F1FromCounts(common, p.size(), g.size());
}

double ExactMatch(std::string_view gold, std::string_view pred) {
  return NormalizeAnswer(gold) == NormalizeAnswer(pred) ? 1.0 : 0.0;
}

double TokenRecall(std::string_view gold, std::string_view pred) {
  const auto g = AnswerTokens(gold);
  const auto p = AnswerTokens(pred);
  if (g.empty() || p.empty()) return (g.empty() && p.empty()) ? 1.0 : 0.0;
  return static_cast<double>(CommonTokenCount(g, p)) / static_cast<double>(g.size());
}

double LeaveOneOutMax(const std::vector<double>& s) {
  const size_t n = s.size();
  if (n == 0) return 0.0;
  if (n == 1) return s[0];
  // The max over all-but-i is the overall max unless i holds it uniquely; then the second max.
  size_t best = 0;
  for (size_t j = 1; j < n; ++j) {
    if (s[j] > s[best]) best = j;
  }
  double second = -1.0;
  for (size_t j = 0; j < n; ++j) {
    if (j != best) second = std::max(second, s[j]);
  }
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += (i == best) ? second : s[best];
  return sum / static_cast<double>(n);
}

TurnOverlap CoqaTurnScore(const std::vector<std::string>& golds, std::string_view pred) {
  std::vector<double> f1, em, recall;
  f1.reserve(golds.size());
  for (const auto& g : golds) {
    f1.push_back(CoqaF1(g, pred));
    em.push_back(ExactMatch(g, pred));
    recall.push_back(TokenRecall(g, pred));
  }
  return {LeaveOneOutMax(f1), LeaveOneOutMax(em), LeaveOneOutMax(recall)};
}

}  // namespace odlm::eval
