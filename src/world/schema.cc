// world/schema.cc — the kind registry (contract in schema.h; the tables are in schema_*.cc).
#include "world/schema.h"

namespace odlm::world {

FactType TypeOf(Gen g) {
  switch (g) {
    case Gen::kCount:
      return FactType::kNumber;
    case Gen::kYear:
      return FactType::kYear;
    case Gen::kPerson:
    case Gen::kCompany:
      return FactType::kName;
    case Gen::kTown:
    case Gen::kRiver:
    case Gen::kRegion:
    case Gen::kHills:
    case Gen::kSea:
      return FactType::kPlace;
    case Gen::kCategory:
      return FactType::kCategory;
    case Gen::kTownList:
    case Gen::kRiverList:
    case Gen::kProductList:
    case Gen::kCategoryList:
      return FactType::kList;
  }
  return FactType::kCategory;
}

std::string_view FactTypeName(FactType t) {
  switch (t) {
    case FactType::kNumber:
      return "number";
    case FactType::kYear:
      return "year";
    case FactType::kName:
      return "name";
    case FactType::kPlace:
      return "place";
    case FactType::kCategory:
      return "category";
    case FactType::kList:
      return "list";
  }
  return "category";
}

const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kinds = [] {
    std::vector<KindSpec> k;
    AddPlaceKinds(&k);
    AddAgentKinds(&k);
    return k;
  }();
  return kinds;
}

const KindSpec* FindKind(std::string_view kind) {
  for (const auto& k : Kinds()) {
    if (kind == k.kind) return &k;
  }
  return nullptr;
}

const FactSpec* FindFact(const KindSpec& kind, std::string_view key) {
  for (const auto& f : kind.facts) {
    if (key == f.key) return &f;
  }
  return nullptr;
}

}  // namespace odlm::world
