// codi/seeds.cc — seed examples from a JSONL file (contract in seeds.h).
#include "codi/seeds.h"

#include "codi/records.h"

namespace odlm::codi {

using nlohmann::json;

StatusOr<std::vector<SeedExample>> LoadSeedExamples(const std::string& path) {
  std::vector<SeedExample> out;
  RETURN_IF_ERROR(ForEachJsonlObject(
      path, "{\"link\": …, \"text\": …}", [&](const json& j, const std::string& where) -> Status {
        SeedExample s;
        if (!j.contains("text") || !j["text"].is_string() || j["text"].get<std::string>().empty()) {
          return InvalidArgumentError(where + ": \"text\" must be a non-empty string");
        }
        s.text = j["text"].get<std::string>();
        if (j.contains("link")) {
          if (!j["link"].is_string()) {
            return InvalidArgumentError(where + ": \"link\" must be a string");
          }
          s.link = j["link"].get<std::string>();
          if (s.link == "*") s.link.clear();
        }
        out.push_back(std::move(s));
        return Status::Ok();
      }));
  if (out.empty()) return InvalidArgumentError(path + ": no seed examples");
  return out;
}

Status AddSeedExamples(const std::vector<SeedExample>& seeds, json* graph) {
  if (!graph->is_object() || !graph->contains("links") || !(*graph)["links"].is_object()) {
    return Status::Ok();  // graph validation reports the missing links
  }
  json links = (*graph)["links"];
  const auto takes_seeds = [](const json& link) {
    return link.is_object() && link.contains("template") && link["template"].is_string() &&
           link["template"].get<std::string>().find("{seed_examples}") != std::string::npos;
  };
  const auto append = [](json* link, const std::string& text) {
    if (!link->contains("seeds") || !(*link)["seeds"].is_array()) (*link)["seeds"] = json::array();
    (*link)["seeds"].push_back(text);
  };
  bool any_unnamed = false, unnamed_taken = false;
  for (const SeedExample& s : seeds) {
    if (s.link.empty()) {
      any_unnamed = true;
      for (auto& [name, link] : links.items()) {
        if (takes_seeds(link)) {
          append(&link, s.text);
          unnamed_taken = true;
        }
      }
      continue;
    }
    if (!links.contains(s.link)) {
      return InvalidArgumentError("seed example for link '" + s.link +
                                  "', which the graph does not have");
    }
    if (!takes_seeds(links[s.link])) {
      return InvalidArgumentError("seed example for link '" + s.link +
                                  "', whose template has no {seed_examples} slot");
    }
    append(&links[s.link], s.text);
  }
  if (any_unnamed && !unnamed_taken) {
    return InvalidArgumentError(
        "seed examples without a link, but no link's template has a {seed_examples} slot");
  }
  (*graph)["links"] = std::move(links);
  return Status::Ok();
}

}  // namespace odlm::codi
