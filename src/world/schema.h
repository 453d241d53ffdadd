// world/schema.h — what the synthetic world can say: entity kinds, the facts each kind may have,
// and for every fact the sentences a document states it with, the questions that ask for it and
// the short answer that answers them.
//
// The tables are data (schema_places.cc: towns and rivers; schema_agents.cc: people, companies,
// products). Templates use these placeholders, filled by world/text.h's Fill:
//   {E}    the entity as named mid-sentence ("Marova", "the Telsa River")
//   {S}    documents: a sentence's subject, the name or the capitalised pronoun ("It", "She")
//   {it} {its} {him}   the entity's pronouns ("it its it", "he his him", "she her her")
//   {P}    a chained fact's person by name ("Dara Velk"); {she} {her} that person's pronouns;
//          {Ps} (documents) the same pronoun capitalised, since the sentence follows the parent's
//   {V}    the fact's value as written ("12,400", "1873", "Marova, Telsin and Quo")
//   {X}    yes/no questions: the value the question proposes
// A sentence's first letter is capitalised after filling ("the Telsa River flows" -> "The …").
//
// Invariants the tests check: every question template ends with '?', a yes/no template has exactly
// one {X}, and no two facts of a kind share a rendered question (so a question identifies its
// fact; world/questions.h matches questions back to facts this way).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace odlm::world {

// How a fact's value is drawn (world/generate.cc) and what type it has.
enum class Gen {
  kCount,         // an integer in [lo, hi], rounded to `round`, written with thousands separators
  kYear,          // a year in [lo, hi]
  kPerson,        // a person's invented name (with a pronoun)
  kTown,          // a town: one of the split's towns, or a new name
  kCompany,       // a company: one of the split's companies, or a new name
  kRiver,         // a river: one of the split's rivers, or a new "the X River"
  kRegion,        // "the province of X"
  kHills,         // "the X Hills"
  kSea,           // "the Sea of X"
  kCategory,      // one of `pool`
  kTownList,      // 2–4 towns
  kRiverList,     // 2–3 rivers
  kProductList,   // 2–4 product names
  kCategoryList,  // 2–3 of `pool`
};

enum class FactType { kNumber, kYear, kName, kPlace, kCategory, kList };

FactType TypeOf(Gen g);
std::string_view FactTypeName(FactType t);  // "number", "year", "name", "place", "category", "list"

struct QuestionForm {
  const char* named;  // names the subject: "How many people live in {E}?"
  const char* coref;  // refers back to it: "How many people live there?"
};

struct FactSpec {
  const char* key = "";
  Gen gen = Gen::kCount;
  int64_t lo = 0, hi = 0, round = 1;  // kCount / kYear
  std::vector<const char*> pool;      // kCategory / kCategoryList
  // Chained facts describe the person of another fact (the mayor's election year): `parent` is
  // that kPerson fact's key. A chained fact is stated right after its parent, or not at all.
  const char* parent = nullptr;
  std::vector<const char*> sentences;  // the document states it with one of these
  std::vector<QuestionForm> questions;
  std::vector<QuestionForm> yes_no;  // each with one {X}
  const char* answer = "{V}";        // the short answer: "{V} people", "in {V}", "{V}"
};

struct KindSpec {
  const char* kind = "";                 // "town"
  std::vector<const char*> intros;       // the document's first sentence (states no fact)
  std::vector<const char*> distractors;  // sentences stating no fact
  std::vector<FactSpec> facts;
};

// Every kind: town, river, person, company, product (in this order).
const std::vector<KindSpec>& Kinds();
const KindSpec* FindKind(std::string_view kind);  // nullptr if unknown
const FactSpec* FindFact(const KindSpec& kind, std::string_view key);

// The tables, one function per file.
void AddPlaceKinds(std::vector<KindSpec>* kinds);  // town, river
void AddAgentKinds(std::vector<KindSpec>* kinds);  // person, company, product

}  // namespace odlm::world
