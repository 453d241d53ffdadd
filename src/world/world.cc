// world/world.cc — entities, world files (contract in world.h).
#include "world/world.h"

#include <filesystem>
#include <set>
#include <system_error>

#include "platform/file_util.h"

namespace odlm::world {

using nlohmann::json;

const Fact* Entity::Find(const std::string& key) const {
  for (const Fact& f : facts) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

const KindSpec& Entity::Kind() const {
  const KindSpec* k = FindKind(kind);
  CHECK(k != nullptr) << "entity " << id << ": unknown kind '" << kind << "'";
  return *k;
}

json WorldToJson(const World& w) {
  json entities = json::array();
  for (const Entity& e : w.entities) {
    const KindSpec& kind = e.Kind();
    json facts = json::array();
    for (const Fact& f : e.facts) {
      const FactSpec* spec = FindFact(kind, f.key);
      CHECK(spec != nullptr);
      json o = {{"key", f.key},
                {"type", FactTypeName(TypeOf(spec->gen))},
                {"value", f.value},
                {"answer", ShortAnswer(*spec, f)}};
      if (!f.items.empty()) o["items"] = f.items;
      const FactType t = TypeOf(spec->gen);
      if (t == FactType::kNumber || t == FactType::kYear) o["number"] = f.number;
      if (!f.pronoun.empty()) o["pronoun"] = f.pronoun;
      if (!f.subject.empty()) {
        o["subject"] = f.subject;
        o["subject_pronoun"] = f.subject_pronoun;
      }
      facts.push_back(std::move(o));
    }
    entities.push_back({{"id", e.id},
                        {"split", e.split},
                        {"kind", e.kind},
                        {"name", e.name},
                        {"pronoun", e.pronoun},
                        {"facts", std::move(facts)},
                        {"absent", e.absent},
                        {"text", e.text}});
  }
  return {{"format", "odlm-world"},
          {"version", 1},
          {"seed", w.seed},
          {"entities", std::move(entities)}};
}

namespace {

Status Field(const json& o, const char* name, const std::string& where, std::string* out,
             bool required = true) {
  if (!o.contains(name)) {
    if (!required) return Status::Ok();
    return InvalidArgumentError(where + ": missing \"" + name + "\"");
  }
  if (!o[name].is_string()) {
    return InvalidArgumentError(where + "." + name + ": expected a string, got " +
                                o[name].type_name());
  }
  *out = o[name].get<std::string>();
  return Status::Ok();
}

bool IsPronoun(const std::string& p) { return p == "it" || p == "he" || p == "she"; }

StatusOr<Fact> ParseFact(const json& j, const KindSpec& kind, const std::string& where) {
  if (!j.is_object()) return InvalidArgumentError(where + ": expected an object");
  Fact f;
  RETURN_IF_ERROR(Field(j, "key", where, &f.key));
  const FactSpec* spec = FindFact(kind, f.key);
  if (spec == nullptr) {
    return InvalidArgumentError(where + ".key: '" + f.key + "' is not a fact of a " + kind.kind);
  }
  RETURN_IF_ERROR(Field(j, "value", where, &f.value));
  if (f.value.empty()) return InvalidArgumentError(where + ".value: empty");
  const FactType t = TypeOf(spec->gen);
  if (t == FactType::kList) {
    if (!j.contains("items") || !j["items"].is_array() || j["items"].empty()) {
      return InvalidArgumentError(where + ".items: a list fact needs a non-empty array");
    }
    for (const auto& it : j["items"]) {
      if (!it.is_string()) return InvalidArgumentError(where + ".items: expected strings");
      f.items.push_back(it.get<std::string>());
    }
  }
  if (t == FactType::kNumber || t == FactType::kYear) {
    if (!j.contains("number") || !j["number"].is_number_integer()) {
      return InvalidArgumentError(where + ".number: a number fact needs an integer");
    }
    f.number = j["number"].get<int64_t>();
  }
  RETURN_IF_ERROR(Field(j, "pronoun", where, &f.pronoun, /*required=*/spec->gen == Gen::kPerson));
  if (spec->gen == Gen::kPerson && !IsPronoun(f.pronoun)) {
    return InvalidArgumentError(where + ".pronoun: expected he or she");
  }
  if (spec->parent != nullptr) {
    RETURN_IF_ERROR(Field(j, "subject", where, &f.subject));
    RETURN_IF_ERROR(Field(j, "subject_pronoun", where, &f.subject_pronoun));
    if (f.subject.empty() || !IsPronoun(f.subject_pronoun)) {
      return InvalidArgumentError(where + ": a chained fact needs a subject and its pronoun");
    }
  }
  return f;
}

}  // namespace

StatusOr<World> WorldFromJson(const json& j) {
  if (!j.is_object() || j.value("format", "") != "odlm-world") {
    return InvalidArgumentError(
        "not an odlm world file (expected {\"format\": \"odlm-world\", …})");
  }
  if (j.value("version", 0) != 1) {
    return InvalidArgumentError("unsupported world version (this odlm reads version 1)");
  }
  World w;
  if (j.contains("seed") && j["seed"].is_number_unsigned()) w.seed = j["seed"].get<uint64_t>();
  if (!j.contains("entities") || !j["entities"].is_array()) {
    return InvalidArgumentError("\"entities\": expected an array");
  }
  std::set<std::string> ids, texts;
  for (size_t i = 0; i < j["entities"].size(); ++i) {
    const json& o = j["entities"][i];
    std::string where = "entities[" + std::to_string(i) + "]";
    if (!o.is_object()) return InvalidArgumentError(where + ": expected an object");
    Entity e;
    RETURN_IF_ERROR(Field(o, "id", where, &e.id));
    where += " (" + e.id + ")";
    RETURN_IF_ERROR(Field(o, "split", where, &e.split));
    RETURN_IF_ERROR(Field(o, "kind", where, &e.kind));
    RETURN_IF_ERROR(Field(o, "name", where, &e.name));
    RETURN_IF_ERROR(Field(o, "pronoun", where, &e.pronoun));
    RETURN_IF_ERROR(Field(o, "text", where, &e.text));
    const KindSpec* kind = FindKind(e.kind);
    if (kind == nullptr) return InvalidArgumentError(where + ".kind: unknown '" + e.kind + "'");
    if (!IsPronoun(e.pronoun)) return InvalidArgumentError(where + ".pronoun: expected it/he/she");
    if (e.text.empty()) return InvalidArgumentError(where + ".text: empty");
    if (!ids.insert(e.id).second) return InvalidArgumentError(where + ".id: appears twice");
    if (!texts.insert(e.text).second) return InvalidArgumentError(where + ".text: appears twice");
    if (!o.contains("facts") || !o["facts"].is_array()) {
      return InvalidArgumentError(where + ".facts: expected an array");
    }
    for (size_t k = 0; k < o["facts"].size(); ++k) {
      ASSIGN_OR_RETURN(
          Fact f, ParseFact(o["facts"][k], *kind, where + ".facts[" + std::to_string(k) + "]"));
      e.facts.push_back(std::move(f));
    }
    if (o.contains("absent")) {
      if (!o["absent"].is_array()) return InvalidArgumentError(where + ".absent: expected array");
      for (const auto& a : o["absent"]) {
        if (!a.is_string() || FindFact(*kind, a.get<std::string>()) == nullptr) {
          return InvalidArgumentError(where + ".absent: " + a.dump() + " is not a fact key");
        }
        e.absent.push_back(a.get<std::string>());
      }
    }
    w.entities.push_back(std::move(e));
  }
  return w;
}

std::string DocumentsJsonl(const World& w, const std::string& split) {
  std::string out;
  for (const Entity& e : w.entities) {
    if (e.split != split) continue;
    const json line = {
        {"id", e.id}, {"text", e.text}, {"split", e.split}, {"kind", e.kind}, {"entity", e.name}};
    out += line.dump() + "\n";
  }
  return out;
}

Status WriteWorld(const World& w, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create directory " + dir + ": " + ec.message());
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/train.jsonl", DocumentsJsonl(w, "train")));
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/test.jsonl", DocumentsJsonl(w, "test")));
  return WriteFileAtomically(dir + "/world.json", WorldToJson(w).dump(1) + "\n");
}

StatusOr<World> LoadWorld(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return InvalidArgumentError(path + ": not valid JSON");
  auto w = WorldFromJson(j);
  if (!w.ok()) return w.status().WithContext(path);
  return w;
}

}  // namespace odlm::world
