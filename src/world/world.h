// world/world.h — a synthetic world of fictional entities with typed facts, and one document per
// entity, for training and evaluating grounded question answering (docs/WORLD.md).
//
// GenerateWorld is a pure function of its options: the same seed gives the same world, byte for
// byte, on every platform (world/rng.h). Entities belong to the train or the test split; the two
// splits share no entity and no name (every root word of a name is drawn once per world, and
// relations only point inside a split), so a student evaluated on the test split has never seen
// its entities. Each entity's kind (world/schema.h) lists the facts it may have; an entity states
// most of them and leaves 2–3 out ("absent": what unanswerable questions ask for).
//
// Files (WriteWorld): DIR/train.jsonl and DIR/test.jsonl, one document per line in the shape
// `odlm codi synth --docs` reads ({"id", "text"}, plus "split", "kind" and "entity", which it
// ignores), and DIR/world.json with every entity, its facts and its document — what
// `odlm world teacher` serves from.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "world/rng.h"
#include "world/schema.h"

namespace odlm::world {

struct Fact {
  std::string key;                 // the schema's key: "population"
  std::string value;               // as written: "12,400", "1873", "Dara Velk", "A, B and C"
  std::vector<std::string> items;  // lists: the items, in the document's order
  int64_t number = 0;              // counts and years
  std::string pronoun;             // person-valued facts: the person's pronoun ("he" / "she")
  std::string subject;             // chained facts: the person they describe ("" = the entity)
  std::string subject_pronoun;     // chained facts: that person's pronoun
};

struct Entity {
  std::string id;                   // "train-0003" (also the document id)
  std::string split;                // "train" or "test"
  std::string kind;                 // a KindSpec's kind
  std::string name;                 // "Marova", "the Telsa River"
  std::string pronoun;              // "it", "he" or "she"
  std::vector<Fact> facts;          // the facts its document states, in the document's order
  std::vector<std::string> absent;  // its kind's fact keys the document does not state
  std::string text;                 // the document: one paragraph, 80–250 words

  const Fact* Find(const std::string& key) const;  // nullptr when absent
  const KindSpec& Kind() const;                    // CHECKs the kind is known
};

struct World {
  uint64_t seed = 0;
  std::vector<Entity> entities;  // train entities first, then test
};

struct WorldOptions {
  uint64_t seed = 0;
  int train_entities = 0;
  int test_entities = 0;
};

// Kinds are dealt round-robin in a seeded order, so every kind appears once there are 5 entities.
World GenerateWorld(const WorldOptions& o);

// The document of an entity whose facts are set (world/document.cc). Deterministic in `rng`.
std::string WriteDocument(const Entity& e, Rng* rng);

// The short answer to a question about `f` ("12,400 people", "in 1873"), from the schema.
std::string ShortAnswer(const FactSpec& spec, const Fact& f);

nlohmann::json WorldToJson(const World& w);
// Validates what the teacher relies on: known kinds and fact keys, non-empty texts, unique ids
// and texts, chained facts with their subject. Errors name the entity and field.
StatusOr<World> WorldFromJson(const nlohmann::json& j);

// Writes train.jsonl, test.jsonl and world.json into `dir` (created if missing), each atomically.
Status WriteWorld(const World& w, const std::string& dir);
StatusOr<World> LoadWorld(const std::string& world_json_path);

// The JSONL of one split's documents (what WriteWorld puts in train.jsonl / test.jsonl).
std::string DocumentsJsonl(const World& w, const std::string& split);

}  // namespace odlm::world
