// world/text.cc — text helpers (contract in text.h).
#include "world/text.h"

#include <cctype>

#include "base/ascii.h"
#include "base/check.h"

namespace odlm::world {

std::string Fill(std::string_view tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    const size_t close = tmpl.find('}', i);
    CHECK(close != std::string_view::npos) << "unclosed placeholder in '" << tmpl << "'";
    const std::string name(tmpl.substr(i + 1, close - i - 1));
    auto it = values.find(name);
    CHECK(it != values.end()) << "no value for {" << name << "} in '" << tmpl << "'";
    out += it->second;
    i = close + 1;
  }
  return out;
}

std::string Capitalize(std::string s) {
  if (!s.empty() && std::islower(static_cast<unsigned char>(s[0]))) {
    s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  }
  return s;
}

std::string Uncapitalize(std::string s) {
  if (!s.empty()) s[0] = AsciiLower(s[0]);
  return s;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string FormatCount(int64_t n) {
  CHECK(n >= 0);
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string NormalizeValue(std::string_view s) {
  std::string out;
  bool space = false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ',') continue;
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += AsciiLower(static_cast<char>(c));
  }
  return out;
}

Pronouns PronounsOf(std::string_view pronoun) {
  if (pronoun == "it") return {"it", "its", "it"};
  if (pronoun == "he") return {"he", "his", "him"};
  CHECK(pronoun == "she") << "unknown pronoun '" << pronoun << "'";
  return {"she", "her", "her"};
}

int CountWords(std::string_view text) {
  int n = 0;
  bool in = false;
  for (char c : text) {
    const bool sp = std::isspace(static_cast<unsigned char>(c));
    if (!sp && !in) ++n;
    in = !sp;
  }
  return n;
}

}  // namespace odlm::world
