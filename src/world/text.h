// world/text.h — small text helpers of the world generator and teacher: template filling, list
// and number formatting, pronouns. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace odlm::world {

// Fills "{name}" placeholders from `values`. Every placeholder must have a value (CHECKed: the
// templates are the project's own, world/schema.h).
std::string Fill(std::string_view tmpl, const std::map<std::string, std::string>& values);

// Upper-cases / lower-cases the first byte when it is an ASCII letter.
std::string Capitalize(std::string s);
std::string Uncapitalize(std::string s);

// "A", "A and B", "A, B and C".
std::string JoinList(const std::vector<std::string>& items);

// 12400 -> "12,400"; negative numbers are not used.
std::string FormatCount(int64_t n);

// Lower-case ASCII, with ',' removed and spaces folded: for comparing a proposed value with a
// fact ("12,400" == "12400", "the Orsa River" == "The Orsa River").
std::string NormalizeValue(std::string_view s);

// The pronoun forms of "it", "he" or "she" (anything else CHECK-fails).
struct Pronouns {
  std::string it, its, him;
};
Pronouns PronounsOf(std::string_view pronoun);

// Words separated by whitespace.
int CountWords(std::string_view text);

}  // namespace odlm::world
