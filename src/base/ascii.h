// base/ascii.h — ASCII case folding, the one home for it: locale-independent (std::tolower follows
// the C locale, which a program may change), bytes ≥ 0x80 (UTF-8) left as they are. Used where
// odlm compares names, keys and words case-insensitively. Pure, constexpr, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace odlm {

constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

constexpr bool AsciiStartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != AsciiLower(prefix[i])) return false;
  }
  return true;
}

}  // namespace odlm
