// codi/turn_check.cc — cleaning and validating teacher turns (contract in turn_check.h).
#include "codi/turn_check.h"

#include <cctype>

#include "base/ascii.h"

namespace odlm::codi {
namespace {

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

const std::unordered_set<std::string>& StopWords() {
  static const std::unordered_set<std::string> s = {
      "the",    "and",      "for",     "are",     "was",   "were",      "with",      "that",
      "this",   "these",    "those",   "from",    "but",   "not",       "you",       "your",
      "they",   "their",    "them",    "his",     "her",   "its",       "has",       "have",
      "had",    "been",     "being",   "into",    "onto",  "than",      "then",      "there",
      "here",   "what",     "which",   "who",     "whom",  "when",      "where",     "why",
      "how",    "all",      "any",     "can",     "could", "would",     "should",    "will",
      "shall",  "may",      "might",   "must",    "does",  "did",       "doing",     "done",
      "also",   "only",     "very",    "just",    "about", "over",      "under",     "after",
      "before", "some",     "such",    "each",    "other", "more",      "most",      "our",
      "out",    "off",      "yes",     "because", "while", "she",       "him",       "it's",
      "text",   "document", "passage", "says",    "said",  "according", "mentioned", "answer"};
  return s;
}

std::string Lower(const std::string& s) { return AsciiLower(s); }

bool StartsWithNoCase(const std::string& s, const std::string& prefix) {
  return AsciiStartsWithNoCase(s, prefix);
}

}  // namespace

std::vector<std::string> LowerWords(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsWordByte(c)) {
      cur += AsciiLower(static_cast<char>(c));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

std::vector<std::string> ContentWords(const std::string& text) {
  std::vector<std::string> out;
  for (auto& w : LowerWords(text)) {
    const bool number = std::isdigit(static_cast<unsigned char>(w[0]));
    if ((w.size() >= 3 || number) && !StopWords().count(w)) out.push_back(std::move(w));
  }
  return out;
}

std::unordered_set<std::string> DocumentWords(const std::string& document) {
  std::unordered_set<std::string> s;
  for (auto& w : LowerWords(document)) s.insert(std::move(w));
  return s;
}

double Support(const std::string& text, const std::unordered_set<std::string>& doc_words) {
  const auto words = ContentWords(text);
  if (words.empty()) return 1.0;
  size_t found = 0;
  for (const auto& w : words) {
    // Plural / possessive forms count when the stem is in the document ("rivers" for "river").
    if (doc_words.count(w) ||
        (w.size() > 3 && w.back() == 's' && doc_words.count(w.substr(0, w.size() - 1)))) {
      ++found;
    }
  }
  return static_cast<double>(found) / static_cast<double>(words.size());
}

std::string CleanTurn(const std::string& raw, const std::vector<std::string>& roles) {
  // Fold whitespace.
  std::string s;
  s.reserve(raw.size());
  bool space = false;
  for (char c : raw) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !s.empty();
      continue;
    }
    if (space) s += ' ';
    space = false;
    s += c;
  }
  // Leading speaker labels, repeatedly ("AGENT: Answer: ...").
  std::vector<std::string> labels = {
      "question:", "answer:", "q:", "a:", "user:", "agent:", "assistant:", "response:"};
  for (const auto& r : roles) {
    labels.push_back(Lower(r) + ":");
    labels.push_back("[" + Lower(r) + "]");
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& l : labels) {
      if (StartsWithNoCase(s, l)) {
        s.erase(0, l.size());
        while (!s.empty() && s.front() == ' ') s.erase(0, 1);
        changed = true;
      }
    }
  }
  for (const auto& r : roles) {
    const std::string close = "[/" + r + "]";
    if (s.size() >= close.size() && s.compare(s.size() - close.size(), close.size(), close) == 0) {
      s.resize(s.size() - close.size());
      while (!s.empty() && s.back() == ' ') s.pop_back();
    }
  }
  // Quotes around the whole turn.
  while (s.size() >= 2 &&
         ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\''))) {
    s = s.substr(1, s.size() - 2);
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }
  return s;
}

int WordCount(const std::string& text) {
  int n = 0;
  bool in = false;
  for (char c : text) {
    const bool sp = std::isspace(static_cast<unsigned char>(c));
    if (!sp && !in) ++n;
    in = !sp;
  }
  return n;
}

TurnVerdict CheckTurn(const Graph& g, const Link& link, const std::string& text,
                      const std::unordered_set<std::string>& doc_words, std::string_view document) {
  TurnVerdict v;
  if (link.check == LinkCheck::kGrounded) v.support = Support(text, doc_words);
  if (text.empty()) {
    v.reason = "empty";
    return v;
  }
  const int words = WordCount(text);
  if (words < link.min_words) {
    v.reason = "too_short";
    return v;
  }
  if (words > link.max_words) {
    v.reason = "too_long";
    return v;
  }
  for (const auto& [role, _] : g.role_weights) {
    for (const std::string& tag : {"[" + role + "]", "[/" + role + "]"}) {
      // A tag the document itself contains may be quoted (export neutralizes it); any other is
      // the teacher writing the next turn itself.
      if (text.find(tag) != std::string::npos && document.find(tag) == std::string_view::npos) {
        v.reason = "role_tag";
        return v;
      }
    }
  }
  switch (link.check) {
    case LinkCheck::kNone:
      break;
    case LinkCheck::kGrounded:
      if (v.support < link.min_support) {
        v.reason = "unsupported";
        return v;
      }
      break;
    case LinkCheck::kRefusal: {
      const std::string lower = Lower(text);
      bool found = false;
      for (const auto& m : g.refusal_markers) found |= lower.find(m) != std::string::npos;
      if (!found) {
        v.reason = "not_refusal";
        return v;
      }
      break;
    }
    case LinkCheck::kQuestion:
      if (text.find('?') == std::string::npos) {
        v.reason = "not_question";
        return v;
      }
      break;
  }
  v.ok = true;
  return v;
}

}  // namespace odlm::codi
