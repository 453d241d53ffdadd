// world/names.h — invented names built from syllables, so that nothing about an entity can be
// recalled from real text: a student can only answer from the document.
//
// A NameRegistry hands out names whose root words ("Marova", "Telsa") are never reused within
// one world, so a name drawn for a test entity never appears in a training document (the split's
// "held-out names"). Deterministic given the Rng's state. Not thread-safe.
#pragma once

#include <set>
#include <string>

#include "world/rng.h"

namespace odlm::world {

enum class NameStyle {
  kTown,     // "Marova"
  kRiver,    // "the Telsa River"
  kCompany,  // "Velkor Works"
  kProduct,  // "Mirel"
  kRegion,   // "the province of Kelvar"
  kHills,    // "the Orlen Hills"
  kSea,      // "the Sea of Vask"
};

struct PersonName {
  std::string name;     // "Dara Velk"
  std::string pronoun;  // "he" or "she"
};

class NameRegistry {
 public:
  // A name in `style` whose root word was never drawn before.
  std::string Draw(Rng* rng, NameStyle style);
  // A person: a given name (its ending follows the pronoun) and a family name, both new roots.
  PersonName DrawPerson(Rng* rng);
  // A new capitalised root word of 2–3 syllables (registered).
  std::string Root(Rng* rng);

  bool Used(const std::string& root) const { return used_.count(root) > 0; }

 private:
  std::string Word(Rng* rng, int syllables);
  std::set<std::string> used_;
};

}  // namespace odlm::world
