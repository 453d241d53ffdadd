// world/generate.cc — GenerateWorld: entities, their facts and documents (contract in world.h).
//
// Order of draws (what makes a seed reproducible): the train split completely (kind order, names,
// then each entity's facts and document), then the test split. The test split only adds draws,
// so --test-entities does not change the training documents.
#include <algorithm>
#include <cstdio>

#include "world/names.h"
#include "world/text.h"
#include "world/world.h"

namespace odlm::world {

namespace {

// The names of one split's entities by kind: relations point at them (or at new names).
struct SplitNames {
  std::vector<std::string> towns, rivers, companies, products;
};

// An integer in [lo, hi] drawn log-uniformly by decades (integers only): a decade, then a value.
int64_t DrawCount(Rng* rng, int64_t lo, int64_t hi, int64_t round) {
  std::vector<std::pair<int64_t, int64_t>> decades;
  for (int64_t a = lo; a <= hi;) {
    int64_t top = 10;
    while (top <= a) top *= 10;
    decades.emplace_back(a, std::min(hi, top - 1));
    a = top;
  }
  const auto& [a, b] = rng->Pick(decades);
  int64_t v = rng->Range(a, b);
  if (round > 1 && v >= 10 * round) v = v / round * round;
  return v;
}

// A name from `pool` (other than `self`, not in `taken`) with probability 1/2, else a new one.
std::string RelationName(Rng* rng, NameRegistry* names, const std::vector<std::string>& pool,
                         const std::string& self, const std::vector<std::string>& taken,
                         NameStyle style) {
  std::vector<std::string> free;
  for (const auto& n : pool) {
    if (n != self && std::find(taken.begin(), taken.end(), n) == taken.end()) free.push_back(n);
  }
  if (!free.empty() && rng->Percent(50)) return rng->Pick(free);
  std::string n = names->Draw(rng, style);
  if (style == NameStyle::kProduct) n = "the " + n;
  return n;
}

Fact DrawFact(const FactSpec& spec, const Entity& e, const SplitNames& split, NameRegistry* names,
              Rng* rng) {
  Fact f;
  f.key = spec.key;
  auto list = [&](const std::vector<std::string>& pool, NameStyle style, int lo, int hi) {
    const int n = static_cast<int>(rng->Range(lo, hi));
    for (int i = 0; i < n; ++i) {
      f.items.push_back(RelationName(rng, names, pool, e.name, f.items, style));
    }
  };
  switch (spec.gen) {
    case Gen::kCount:
      f.number = DrawCount(rng, spec.lo, spec.hi, spec.round);
      f.value = FormatCount(f.number);
      break;
    case Gen::kYear:
      f.number = rng->Range(spec.lo, spec.hi);
      f.value = std::to_string(f.number);
      break;
    case Gen::kPerson: {
      PersonName p = names->DrawPerson(rng);
      f.value = p.name;
      f.pronoun = p.pronoun;
      break;
    }
    case Gen::kTown:
      f.value = RelationName(rng, names, split.towns, e.name, {}, NameStyle::kTown);
      break;
    case Gen::kCompany:
      f.value = RelationName(rng, names, split.companies, e.name, {}, NameStyle::kCompany);
      break;
    case Gen::kRiver:
      f.value = RelationName(rng, names, split.rivers, e.name, {}, NameStyle::kRiver);
      break;
    case Gen::kRegion:
      f.value = names->Draw(rng, NameStyle::kRegion);
      break;
    case Gen::kHills:
      f.value = names->Draw(rng, NameStyle::kHills);
      break;
    case Gen::kSea:
      f.value = names->Draw(rng, NameStyle::kSea);
      break;
    case Gen::kCategory:
      f.value = rng->Pick(std::vector<std::string>(spec.pool.begin(), spec.pool.end()));
      break;
    case Gen::kTownList:
      list(split.towns, NameStyle::kTown, 2, 4);
      break;
    case Gen::kRiverList:
      list(split.rivers, NameStyle::kRiver, 2, 3);
      break;
    case Gen::kProductList:
      list(split.products, NameStyle::kProduct, 2, 4);
      break;
    case Gen::kCategoryList: {
      std::vector<std::string> pool(spec.pool.begin(), spec.pool.end());
      rng->Shuffle(&pool);
      pool.resize(static_cast<size_t>(rng->Range(2, 3)));
      f.items = pool;
      break;
    }
  }
  if (!f.items.empty()) f.value = JoinList(f.items);
  return f;
}

// Which top-level facts the entity states: all but 2–3, keeping at least one list and two
// number/year facts (what the list and numeric question types need).
std::vector<bool> ChoosePresent(const KindSpec& kind, Rng* rng) {
  std::vector<size_t> top;
  for (size_t i = 0; i < kind.facts.size(); ++i) {
    if (kind.facts[i].parent == nullptr) top.push_back(i);
  }
  const size_t n_absent = static_cast<size_t>(rng->Range(2, 3));
  for (;;) {
    std::vector<size_t> order = top;
    rng->Shuffle(&order);
    std::vector<bool> present(kind.facts.size(), false);
    for (size_t i = n_absent; i < order.size(); ++i) present[order[i]] = true;
    int lists = 0, numbers = 0;
    for (size_t i = 0; i < kind.facts.size(); ++i) {
      if (!present[i]) continue;
      const FactType t = TypeOf(kind.facts[i].gen);
      lists += t == FactType::kList;
      numbers += t == FactType::kNumber || t == FactType::kYear;
    }
    if (lists >= 1 && numbers >= 2) return present;
  }
}

Entity MakeEntity(const std::string& id, const std::string& split, const KindSpec& kind,
                  const std::string& name, const std::string& pronoun) {
  Entity e;
  e.id = id;
  e.split = split;
  e.kind = kind.kind;
  e.name = name;
  e.pronoun = pronoun;
  return e;
}

void GenerateSplit(const std::string& split, int n, Rng* rng, NameRegistry* names,
                   std::vector<Entity>* out) {
  std::vector<const KindSpec*> order;
  for (const auto& k : Kinds()) order.push_back(&k);
  rng->Shuffle(&order);
  std::vector<Entity> entities;
  SplitNames pool;
  for (int i = 0; i < n; ++i) {
    const KindSpec& kind = *order[static_cast<size_t>(i) % order.size()];
    char id[32];
    std::snprintf(id, sizeof(id), "%s-%04d", split.c_str(), i);
    const std::string k = kind.kind;
    if (k == "person") {
      PersonName p = names->DrawPerson(rng);
      entities.push_back(MakeEntity(id, split, kind, p.name, p.pronoun));
      continue;
    }
    std::string name;
    if (k == "town") {
      pool.towns.push_back(name = names->Draw(rng, NameStyle::kTown));
    } else if (k == "river") {
      pool.rivers.push_back(name = names->Draw(rng, NameStyle::kRiver));
    } else if (k == "company") {
      pool.companies.push_back(name = names->Draw(rng, NameStyle::kCompany));
    } else {
      pool.products.push_back(name = "the " + names->Draw(rng, NameStyle::kProduct));
    }
    entities.push_back(MakeEntity(id, split, kind, name, "it"));
  }
  for (Entity& e : entities) {
    const KindSpec& kind = e.Kind();
    const std::vector<bool> present = ChoosePresent(kind, rng);
    std::vector<Fact> top;  // drawn in schema order, then shuffled into the document's order
    std::vector<std::vector<Fact>> chained(kind.facts.size());
    for (size_t i = 0; i < kind.facts.size(); ++i) {
      const FactSpec& spec = kind.facts[i];
      if (spec.parent == nullptr) {
        if (present[i]) {
          top.push_back(DrawFact(spec, e, pool, names, rng));
        } else {
          e.absent.push_back(spec.key);
        }
        continue;
      }
      // A chained fact: stated (3 times in 4) only when its parent is.
      const Fact* parent = nullptr;
      for (const Fact& f : top) {
        if (f.key == spec.parent) parent = &f;
      }
      if (parent == nullptr || !rng->Percent(75)) {
        e.absent.push_back(spec.key);
        continue;
      }
      Fact f = DrawFact(spec, e, pool, names, rng);
      f.subject = parent->value;
      f.subject_pronoun = parent->pronoun;
      for (size_t p = 0; p < kind.facts.size(); ++p) {
        if (std::string(kind.facts[p].key) == spec.parent) chained[p].push_back(std::move(f));
      }
    }
    rng->Shuffle(&top);
    for (Fact& f : top) {
      const std::string key = f.key;
      e.facts.push_back(std::move(f));
      for (size_t p = 0; p < kind.facts.size(); ++p) {
        if (key == kind.facts[p].key) {
          for (Fact& c : chained[p]) e.facts.push_back(std::move(c));
        }
      }
    }
    e.text = WriteDocument(e, rng);
  }
  for (Entity& e : entities) out->push_back(std::move(e));
}

}  // namespace

World GenerateWorld(const WorldOptions& o) {
  CHECK(o.train_entities >= 0 && o.test_entities >= 0);
  World w;
  w.seed = o.seed;
  NameRegistry names;
  Rng train(Mix64(o.seed ^ 0x7472616996E00001ULL));
  GenerateSplit("train", o.train_entities, &train, &names, &w.entities);
  Rng test(Mix64(o.seed ^ 0x7465737400000002ULL));
  GenerateSplit("test", o.test_entities, &test, &names, &w.entities);
  return w;
}

}  // namespace odlm::world
