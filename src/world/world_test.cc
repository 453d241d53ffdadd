// world/world_test.cc — the generator: determinism, the split, facts in their documents, lengths,
// the world file.
#include "world/world.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "platform/file_util.h"
#include "world/text.h"

namespace odlm::world {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Contains(const std::string& text, const std::string& part) {
  return Lower(text).find(Lower(part)) != std::string::npos;
}

// The longest run of a template's text outside placeholders.
std::string LongestLiteral(const std::string& tmpl) {
  std::string best, cur;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      best = cur.size() > best.size() ? cur : best;
      cur.clear();
      i = tmpl.find('}', i);
      continue;
    }
    cur += tmpl[i];
  }
  return cur.size() > best.size() ? cur : best;
}

TEST(WorldTest, SameSeedSameBytesOtherSeedOtherWorld) {
  const World a = GenerateWorld({7, 30, 10});
  const World b = GenerateWorld({7, 30, 10});
  EXPECT_EQ(WorldToJson(a).dump(), WorldToJson(b).dump());
  EXPECT_EQ(DocumentsJsonl(a, "train"), DocumentsJsonl(b, "train"));
  const World c = GenerateWorld({8, 30, 10});
  EXPECT_NE(DocumentsJsonl(a, "train"), DocumentsJsonl(c, "train"));
}

TEST(WorldTest, TestEntitiesDoNotChangeTrainingDocuments) {
  EXPECT_EQ(DocumentsJsonl(GenerateWorld({3, 12, 2}), "train"),
            DocumentsJsonl(GenerateWorld({3, 12, 9}), "train"));
}

// Pins the bytes of a small world so that a platform or compiler that draws differently (or an
// unnoticed change of the tables) fails here. Update the constant when the schema changes on
// purpose.
TEST(WorldTest, GoldenHash) {
  const std::string json = WorldToJson(GenerateWorld({1, 10, 5})).dump();
  EXPECT_EQ(HashString(json), 0x28c057944420097aULL) << std::hex << HashString(json);
}

TEST(WorldTest, SplitsAreDisjointInEntitiesAndNames) {
  const World w = GenerateWorld({11, 40, 15});
  ASSERT_EQ(w.entities.size(), 55u);
  std::map<std::string, std::vector<const Entity*>> by_split;
  std::set<std::string> ids;
  for (const Entity& e : w.entities) {
    by_split[e.split].push_back(&e);
    EXPECT_TRUE(ids.insert(e.id).second) << e.id;
  }
  ASSERT_EQ(by_split["train"].size(), 40u);
  ASSERT_EQ(by_split["test"].size(), 15u);
  // Every name an entity's document holds (its own, people, places, lists of names) appears in no
  // document of the other split.
  for (const auto& [split, entities] : by_split) {
    const auto& others = by_split[split == "train" ? "test" : "train"];
    for (const Entity* e : entities) {
      std::vector<std::string> names = {e->name};
      for (const Fact& f : e->facts) {
        const FactType t = TypeOf(FindFact(e->Kind(), f.key)->gen);
        if (t == FactType::kName || t == FactType::kPlace) names.push_back(f.value);
        if (t == FactType::kList && FindFact(e->Kind(), f.key)->gen != Gen::kCategoryList) {
          names.insert(names.end(), f.items.begin(), f.items.end());
        }
      }
      for (const std::string& n : names) {
        for (const Entity* o : others) {
          EXPECT_FALSE(Contains(o->text, n)) << e->id << "'s " << n << " is in " << o->id;
        }
      }
    }
  }
}

TEST(WorldTest, EveryFactIsInItsDocumentAndAbsentOnesAreNot) {
  const World w = GenerateWorld({5, 60, 0});
  std::set<std::string> kinds;
  for (const Entity& e : w.entities) {
    kinds.insert(e.kind);
    const KindSpec& kind = e.Kind();
    EXPECT_TRUE(Contains(e.text, e.name)) << e.id;
    int lists = 0, numbers = 0, absent_top = 0;
    for (const Fact& f : e.facts) {
      const FactSpec* spec = FindFact(kind, f.key);
      ASSERT_NE(spec, nullptr);
      EXPECT_TRUE(Contains(e.text, f.value)) << e.id << " " << f.key << ": " << f.value << "\n"
                                             << e.text;
      for (const auto& item : f.items) EXPECT_TRUE(Contains(e.text, item)) << item;
      if (spec->parent != nullptr) {
        ASSERT_NE(e.Find(spec->parent), nullptr) << e.id << " " << f.key;
        EXPECT_EQ(f.subject, e.Find(spec->parent)->value);
      }
      const FactType t = TypeOf(spec->gen);
      lists += t == FactType::kList;
      numbers += t == FactType::kNumber || t == FactType::kYear;
    }
    for (const std::string& key : e.absent) {
      const FactSpec* spec = FindFact(kind, key);
      ASSERT_NE(spec, nullptr);
      EXPECT_EQ(e.Find(key), nullptr);
      absent_top += spec->parent == nullptr;
      for (const char* s : spec->sentences) {
        const std::string lit = LongestLiteral(s);
        if (lit.size() >= 10) {
          EXPECT_FALSE(Contains(e.text, lit)) << e.id << " states " << key;
        }
      }
    }
    EXPECT_GE(lists, 1) << e.id;
    EXPECT_GE(numbers, 2) << e.id;
    EXPECT_GE(absent_top, 2) << e.id;
    EXPECT_EQ(e.facts.size() + e.absent.size(), kind.facts.size()) << e.id;
    const int words = CountWords(e.text);
    EXPECT_GE(words, 80) << e.id << ": " << e.text;
    EXPECT_LE(words, 250) << e.id;
    EXPECT_EQ(e.text.find('\n'), std::string::npos);
  }
  EXPECT_EQ(kinds.size(), Kinds().size());
}

TEST(WorldTest, JsonRoundTripAndFiles) {
  const World w = GenerateWorld({2, 9, 4});
  auto back = WorldFromJson(WorldToJson(w));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(WorldToJson(*back).dump(), WorldToJson(w).dump());

  char tmpl[] = "/tmp/odlm_world_test_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/out";
  ASSERT_TRUE(WriteWorld(w, dir).ok());
  auto loaded = LoadWorld(dir + "/world.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(WorldToJson(*loaded).dump(), WorldToJson(w).dump());
  auto train = ReadFileToString(dir + "/train.jsonl");
  ASSERT_TRUE(train.ok());
  size_t lines = 0;
  for (size_t p = 0; (p = train->find('\n', p)) != std::string::npos; ++p) ++lines;
  EXPECT_EQ(lines, 9u);
  const auto first = nlohmann::json::parse(train->substr(0, train->find('\n')));
  EXPECT_EQ(first["id"], w.entities[0].id);
  EXPECT_EQ(first["text"], w.entities[0].text);
  std::filesystem::remove_all(tmpl);
}

TEST(WorldTest, BadWorldFilesAreRefusedWithTheField) {
  const nlohmann::json good = WorldToJson(GenerateWorld({2, 3, 0}));
  auto expect_error = [](nlohmann::json j, const std::string& part) {
    auto w = WorldFromJson(j);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(w.status().message().find(part), std::string::npos) << w.status().message();
  };
  expect_error(nlohmann::json::object(), "odlm world");
  auto j = good;
  j["entities"][0]["kind"] = "volcano";
  expect_error(j, "unknown 'volcano'");
  j = good;
  j["entities"][1]["id"] = good["entities"][0]["id"];
  expect_error(j, "appears twice");
  j = good;
  j["entities"][0]["facts"][0]["key"] = "colour_of_the_sky";
  expect_error(j, "facts[0].key");
  j = good;
  j["entities"][0].erase("text");
  expect_error(j, "missing \"text\"");
}

TEST(WorldTest, TextHelpers) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(12400), "12,400");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(JoinList({"A"}), "A");
  EXPECT_EQ(JoinList({"A", "B"}), "A and B");
  EXPECT_EQ(JoinList({"A", "B", "C"}), "A, B and C");
  EXPECT_EQ(NormalizeValue(" The  Orsa River"), "the orsa river");
  EXPECT_EQ(NormalizeValue("12,400"), "12400");
  EXPECT_EQ(Fill("{S} has {V} people.", {{"S", "Marova"}, {"V", "12"}}), "Marova has 12 people.");
}

}  // namespace
}  // namespace odlm::world
