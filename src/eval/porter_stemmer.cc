// eval/porter_stemmer.cc — Porter (1980), original algorithm; see the header.
#include "eval/porter_stemmer.h"

#include <functional>
#include <vector>

namespace odlm::eval {
namespace {

bool IsVowelLetter(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// A consonant is a letter other than a, e, i, o, u, and other than y preceded by a consonant.
bool IsConsonant(const std::string& w, size_t i) {
  if (IsVowelLetter(w[i])) return false;
  if (w[i] == 'y') return i == 0 ? true : !IsConsonant(w, i - 1);
  return true;
}

// m in [C](VC)^m[V]: the number of vowel-run → consonant-run transitions.
int Measure(const std::string& stem) {
  int m = 0;
  bool prev_vowel = false;
  for (size_t i = 0; i < stem.size(); ++i) {
    const bool consonant = IsConsonant(stem, i);
    if (consonant && prev_vowel) ++m;
    prev_vowel = !consonant;
  }
  return m;
}

bool ContainsVowel(const std::string& stem) {  // *v*
  for (size_t i = 0; i < stem.size(); ++i) {
    if (!IsConsonant(stem, i)) return true;
  }
  return false;
}

bool EndsDoubleConsonant(const std::string& w) {  // *d
  const size_t n = w.size();
  return n >= 2 && w[n - 1] == w[n - 2] && IsConsonant(w, n - 1);
}

bool EndsCvc(const std::string& w) {  // *o: cvc, the last c not w, x or y
  const size_t n = w.size();
  if (n < 3) return false;
  const char last = w[n - 1];
  return IsConsonant(w, n - 3) && !IsConsonant(w, n - 2) && IsConsonant(w, n - 1) && last != 'w' &&
         last != 'x' && last != 'y';
}

bool EndsWith(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() &&
         w.compare(w.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

struct Rule {
  std::string_view suffix;
  std::string_view replacement;
  std::function<bool(const std::string& stem)> condition;  // null: always
};

// Applies the first rule whose suffix matches (rules are listed longest-suffix-first wherever two
// could match); if its condition fails, no other rule of the step is tried.
std::string ApplyRules(const std::string& word, const std::vector<Rule>& rules) {
  for (const auto& r : rules) {
    if (!EndsWith(word, r.suffix)) continue;
    std::string stem = word.substr(0, word.size() - r.suffix.size());
    if (!r.condition || r.condition(stem)) return stem + std::string(r.replacement);
    return word;
  }
  return word;
}

bool MeasureGt0(const std::string& s) { return Measure(s) > 0; }
bool MeasureGt1(const std::string& s) { return Measure(s) > 1; }

std::string Step1a(const std::string& w) {
  return ApplyRules(
      w,
      {{"sses", "ss", nullptr}, {"ies", "i", nullptr}, {"ss", "ss", nullptr}, {"s", "", nullptr}});
}

std::string Step1b(const std::string& w) {
  if (EndsWith(w, "eed")) {
    std::string stem = w.substr(0, w.size() - 3);
    return Measure(stem) > 0 ? stem + "ee" : w;
  }
  std::string stem;
  if (EndsWith(w, "ed") && ContainsVowel(w.substr(0, w.size() - 2))) {
    stem = w.substr(0, w.size() - 2);
  } else if (EndsWith(w, "ing") && ContainsVowel(w.substr(0, w.size() - 3))) {
    stem = w.substr(0, w.size() - 3);
  } else {
    return w;
  }
  // Tidy-up after removing -ed / -ing.
  if (EndsWith(stem, "at") || EndsWith(stem, "bl") || EndsWith(stem, "iz")) return stem + "e";
  if (EndsDoubleConsonant(stem)) {
    const char last = stem.back();
    if (last != 'l' && last != 's' && last != 'z') stem.pop_back();
    return stem;
  }
  if (Measure(stem) == 1 && EndsCvc(stem)) return stem + "e";
  return stem;
}

std::string Step1c(const std::string& w) { return ApplyRules(w, {{"y", "i", ContainsVowel}}); }

std::string Step2(const std::string& w) {
  return ApplyRules(w, {{"ational", "ate", MeasureGt0}, {"tional", "tion", MeasureGt0},
                        {"enci", "ence", MeasureGt0},   {"anci", "ance", MeasureGt0},
                        {"izer", "ize", MeasureGt0},    {"abli", "able", MeasureGt0},
                        {"alli", "al", MeasureGt0},     {"entli", "ent", MeasureGt0},
                        {"eli", "e", MeasureGt0},       {"ousli", "ous", MeasureGt0},
                        {"ization", "ize", MeasureGt0}, {"ation", "ate", MeasureGt0},
                        {"ator", "ate", MeasureGt0},    {"alism", "al", MeasureGt0},
                        {"iveness", "ive", MeasureGt0}, {"fulness", "ful", MeasureGt0},
                        {"ousness", "ous", MeasureGt0}, {"aliti", "al", MeasureGt0},
                        {"iviti", "ive", MeasureGt0},   {"biliti", "ble", MeasureGt0}});
}

std::string Step3(const std::string& w) {
  return ApplyRules(w, {{"icate", "ic", MeasureGt0},
                        {"ative", "", MeasureGt0},
                        {"alize", "al", MeasureGt0},
                        {"iciti", "ic", MeasureGt0},
                        {"ical", "ic", MeasureGt0},
                        {"ful", "", MeasureGt0},
                        {"ness", "", MeasureGt0}});
}

std::string Step4(const std::string& w) {
  auto ion = [](const std::string& s) {
    return Measure(s) > 1 && !s.empty() && (s.back() == 's' || s.back() == 't');
  };
  return ApplyRules(w, {{"al", "", MeasureGt1},
                        {"ance", "", MeasureGt1},
                        {"ence", "", MeasureGt1},
                        {"er", "", MeasureGt1},
                        {"ic", "", MeasureGt1},
                        {"able", "", MeasureGt1},
                        {"ible", "", MeasureGt1},
                        {"ant", "", MeasureGt1},
                        {"ement", "", MeasureGt1},
                        {"ment", "", MeasureGt1},
                        {"ent", "", MeasureGt1},
                        {"ion", "", ion},
                        {"ou", "", MeasureGt1},
                        {"ism", "", MeasureGt1},
                        {"ate", "", MeasureGt1},
                        {"iti", "", MeasureGt1},
                        {"ous", "", MeasureGt1},
                        {"ive", "", MeasureGt1},
                        {"ize", "", MeasureGt1}});
}

std::string Step5a(const std::string& w) {
  if (!EndsWith(w, "e")) return w;
  std::string stem = w.substr(0, w.size() - 1);
  const int m = Measure(stem);
  if (m > 1 || (m == 1 && !EndsCvc(stem))) return stem;
  return w;
}

std::string Step5b(const std::string& w) {
  if (Measure(w) > 1 && EndsDoubleConsonant(w) && w.back() == 'l') return w.substr(0, w.size() - 1);
  return w;
}

}  // namespace

std::string PorterStem(std::string_view word) {
  std::string w(word);
  if (w.empty()) return w;
  w = Step1a(w);
  w = Step1b(w);
  w = Step1c(w);
  w = Step2(w);
  w = Step3(w);
  w = Step4(w);
  w = Step5a(w);
  w = Step5b(w);
  return w;
}

}  // namespace odlm::eval
