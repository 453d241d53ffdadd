// world/document.cc — writing an entity's document from its facts (contract in world.h).
//
// The intro sentence comes first; then the facts in the entity's (shuffled) order, each with one
// of its schema sentences and any chained fact right after its parent; distractor sentences (which
// state nothing) go between facts until the text has at least kMinWords words. A sentence names
// its subject, or uses the pronoun when the sentence before was about the entity and named no
// other person (so "She" never points at the wrong person).
#include <map>

#include "world/text.h"
#include "world/world.h"

namespace odlm::world {

namespace {

constexpr int kMinWords = 80;

// Neutral sentences any document may use when its own kind's distractors run out.
const std::vector<const char*>& CommonDistractors() {
  static const std::vector<const char*> v = {
      "Much of what is written here comes from local records.",
      "Several guidebooks mention {E} in passing.",
      "Older residents of the region tell many stories about {E}.",
      "A copy of this note is kept in the regional archive.",
      "Photographs of {E} appear in a number of old postcards.",
  };
  return v;
}

std::map<std::string, std::string> Values(const Entity& e, const Fact* f, bool pronoun_subject) {
  const Pronouns p = PronounsOf(e.pronoun);
  std::map<std::string, std::string> v = {
      {"E", e.name},  {"S", pronoun_subject ? Capitalize(p.it) : e.name},
      {"it", p.it},   {"its", p.its},
      {"him", p.him},
  };
  if (f != nullptr) {
    v["V"] = f->value;
    if (!f->subject.empty()) {
      const Pronouns s = PronounsOf(f->subject_pronoun);
      v["P"] = f->subject;
      v["she"] = s.it;
      v["her"] = s.its;
      v["Ps"] = Capitalize(s.it);
    }
  }
  return v;
}

}  // namespace

std::string ShortAnswer(const FactSpec& spec, const Fact& f) {
  return Fill(spec.answer, {{"V", f.value}});
}

std::string WriteDocument(const Entity& e, Rng* rng) {
  const KindSpec& kind = e.Kind();
  // Blocks: a top-level fact followed by its chained facts (indices into e.facts).
  std::vector<std::vector<size_t>> blocks;
  for (size_t i = 0; i < e.facts.size(); ++i) {
    if (e.facts[i].subject.empty()) {
      blocks.push_back({i});
    } else {
      CHECK(!blocks.empty()) << e.id << ": a chained fact must follow its parent";
      blocks.back().push_back(i);
    }
  }
  std::vector<std::string> distractors;
  for (const char* d : kind.distractors) distractors.push_back(d);
  rng->Shuffle(&distractors);
  std::vector<std::string> common;
  for (const char* d : CommonDistractors()) common.push_back(d);
  rng->Shuffle(&common);
  distractors.insert(distractors.end(), common.begin(), common.end());

  // How many distractors go after each block (slot 0: right after the intro).
  std::vector<int> after(blocks.size() + 1, 0);
  size_t next_distractor = 0;
  auto add_distractors = [&](int n) {
    for (int i = 0; i < n && next_distractor < distractors.size(); ++i, ++next_distractor) {
      ++after[rng->Below(after.size())];
    }
  };
  add_distractors(static_cast<int>(rng->Range(1, 3)));
  const std::string intro = rng->Pick(kind.intros);
  // Each fact's sentence and whether it may use the pronoun, drawn once (before any retry below).
  std::vector<const char*> sentence(e.facts.size());
  std::vector<bool> coin(e.facts.size());
  for (size_t i = 0; i < e.facts.size(); ++i) {
    const FactSpec* spec = FindFact(kind, e.facts[i].key);
    CHECK(spec != nullptr) << e.id << ": unknown fact " << e.facts[i].key;
    sentence[i] = rng->Pick(spec->sentences);
    coin[i] = rng->Percent(40);
  }

  for (;;) {
    std::string text = Capitalize(Fill(intro, Values(e, nullptr, false)));
    bool about_entity = true;  // the last sentence was about the entity and named no other person
    size_t d = 0;
    auto distract = [&](int n) {
      for (int i = 0; i < n; ++i) {
        text += " " + Capitalize(Fill(distractors[d++], Values(e, nullptr, false)));
        about_entity = true;
      }
    };
    distract(after[0]);
    for (size_t b = 0; b < blocks.size(); ++b) {
      for (size_t fi : blocks[b]) {
        const Fact& f = e.facts[fi];
        const bool pronoun = f.subject.empty() && about_entity && coin[fi];
        text += " " + Capitalize(Fill(sentence[fi], Values(e, &f, pronoun)));
        about_entity = f.subject.empty() && FindFact(kind, f.key)->gen != Gen::kPerson;
      }
      distract(after[b + 1]);
    }
    if (CountWords(text) >= kMinWords || next_distractor >= distractors.size()) return text;
    add_distractors(1);
  }
}

}  // namespace odlm::world
