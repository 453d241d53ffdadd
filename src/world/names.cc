// world/names.cc — syllable names (contract in names.h).
#include "world/names.h"

#include <vector>

#include "world/text.h"

namespace odlm::world {

namespace {

const std::vector<std::string>& Onsets() {
  static const std::vector<std::string> v = {"b",  "d",  "f",  "g",  "h",  "k",  "l",  "m",  "n",
                                             "p",  "r",  "s",  "t",  "v",  "z",  "br", "dr", "gr",
                                             "kr", "tr", "st", "sk", "th", "sh", ""};
  return v;
}
const std::vector<std::string>& Vowels() {
  static const std::vector<std::string> v = {"a", "e", "i",  "o",  "u",  "a",
                                             "e", "o", "ai", "ei", "ou", "ia"};
  return v;
}
const std::vector<std::string>& Codas() {
  static const std::vector<std::string> v = {"", "", "", "", "n", "r", "l", "s", "m", "k", "th"};
  return v;
}

}  // namespace

std::string NameRegistry::Word(Rng* rng, int syllables) {
  std::string w;
  for (int i = 0; i < syllables; ++i) {
    w += rng->Pick(Onsets());
    w += rng->Pick(Vowels());
    // Codas only inside the word or at its end, never two consonant clusters in a row.
    if (i + 1 == syllables || rng->Percent(30)) w += rng->Pick(Codas());
  }
  return w;
}

std::string NameRegistry::Root(Rng* rng) {
  for (;;) {
    const int syllables = rng->Percent(70) ? 2 : 3;
    std::string w = Capitalize(Word(rng, syllables));
    if (w.size() < 4 || w.size() > 10) continue;
    if (used_.insert(w).second) return w;
  }
}

PersonName NameRegistry::DrawPerson(Rng* rng) {
  static const std::vector<std::string> kFemale = {"a", "ia", "ine", "elle", "eth"};
  static const std::vector<std::string> kMale = {"o", "an", "ek", "ius", "or"};
  PersonName p;
  p.pronoun = rng->Percent(50) ? "she" : "he";
  std::string given;
  for (;;) {
    given = Capitalize(Word(rng, 1 + static_cast<int>(rng->Below(2))));
    while (!given.empty() && std::string("aeiou").find(given.back()) != std::string::npos) {
      given.pop_back();
    }
    if (given.size() < 2) continue;
    given += rng->Pick(p.pronoun == "she" ? kFemale : kMale);
    if (given.size() >= 3 && given.size() <= 9 && used_.insert(given).second) break;
  }
  p.name = given + " " + Root(rng);
  return p;
}

std::string NameRegistry::Draw(Rng* rng, NameStyle style) {
  static const std::vector<std::string> kCompanySuffix = {
      "Works", "Industries", "and Sons", "Mills", "Foundry", "Trading Company", "Shipyards"};
  const std::string root = Root(rng);
  switch (style) {
    case NameStyle::kTown:
    case NameStyle::kProduct:
      return root;
    case NameStyle::kRiver:
      return "the " + root + " River";
    case NameStyle::kCompany:
      return root + " " + rng->Pick(kCompanySuffix);
    case NameStyle::kRegion:
      return "the province of " + root;
    case NameStyle::kHills:
      return "the " + root + " Hills";
    case NameStyle::kSea:
      return "the Sea of " + root;
  }
  return root;
}

}  // namespace odlm::world
