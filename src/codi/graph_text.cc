// codi/graph_text.cc — graph files on disk (JSON, YAML through yaml-cpp) and prompt templates.
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "codi/graph.h"
#include "gguf/json_lite.h"
#include "platform/file_util.h"

namespace odlm::codi {
namespace {

const char* const kKnownSlots[] = {"document", "history", "instruction", "phenomenon",
                                   "seed_examples"};

bool IsKnownSlot(const std::string& s) {
  for (const char* k : kKnownSlots) {
    if (s == k) return true;
  }
  return false;
}

// A plain (unquoted) YAML scalar as JSON: null, bool, integer, number, or string.
nlohmann::json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(b, &end, 10);
  if (errno == 0 && end == b + s.size()) return i;
  errno = 0;
  const double d = std::strtod(b, &end);
  if (errno == 0 && end == b + s.size() && std::isfinite(d) &&
      s.find_first_of("0123456789") != std::string::npos && s.find_first_of("xXpP") == s.npos) {
    return d;
  }
  return s;
}

// What converting a YAML document may produce. Aliases make a small file stand for a huge tree
// (ten levels of nine aliases each are 9^10 nodes): the conversion stops at these bounds.
struct YamlBudget {
  int64_t nodes = 100000;             // nodes produced, aliases expanded
  int64_t scalar_bytes = 64ll << 20;  // bytes of scalars produced
};

// Where a node is ("$.links.q[2]"), rendered only for an error message.
struct YamlPath {
  const YamlPath* parent = nullptr;
  const std::string* key = nullptr;  // a mapping's key, or null for a sequence's index
  size_t index = 0;
  std::string Render() const {
    if (parent == nullptr) return "$";
    return parent->Render() + (key ? "." + *key : "[" + std::to_string(index) + "]");
  }
};

StatusOr<nlohmann::json> NodeToJson(const YAML::Node& n, const YamlPath& path, int depth,
                                    YamlBudget* budget) {
  if (depth > kMaxJsonNesting) {
    return InvalidArgumentError(path.Render() + ": line " + std::to_string(n.Mark().line + 1) +
                                ": nested deeper than " + std::to_string(kMaxJsonNesting) +
                                " levels");
  }
  if (--budget->nodes < 0) {
    return InvalidArgumentError(path.Render() +
                                ": the document expands to more than 100,000 nodes (aliases "
                                "repeated within aliases?); write it out, or use fewer aliases");
  }
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nlohmann::json(nullptr);
    case YAML::NodeType::Scalar:
      budget->scalar_bytes -= static_cast<int64_t>(n.Scalar().size());
      if (budget->scalar_bytes < 0) {
        return InvalidArgumentError(path.Render() +
                                    ": the document expands to more than 64 MiB of text (aliases "
                                    "repeated within aliases?)");
      }
      // Tag "!" marks a quoted (non-plain) scalar: always a string.
      if (n.Tag() == "!") return nlohmann::json(n.Scalar());
      return PlainScalar(n.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      YamlPath item{&path, nullptr, 0};
      for (const auto& e : n) {
        ASSIGN_OR_RETURN(nlohmann::json v, NodeToJson(e, item, depth + 1, budget));
        a.push_back(std::move(v));
        ++item.index;
      }
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) {
          return InvalidArgumentError(path.Render() + ": line " +
                                      std::to_string(kv.first.Mark().line + 1) +
                                      ": mapping keys must be plain strings");
        }
        const std::string key = kv.first.Scalar();
        if (o.contains(key)) {
          return InvalidArgumentError(path.Render() + ": line " +
                                      std::to_string(kv.first.Mark().line + 1) +
                                      ": duplicate key '" + key + "'");
        }
        ASSIGN_OR_RETURN(nlohmann::json v,
                         NodeToJson(kv.second, YamlPath{&path, &key, 0}, depth + 1, budget));
        o[key] = std::move(v);
      }
      return o;
    }
  }
  return nlohmann::json(nullptr);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

StatusOr<nlohmann::json> YamlToJson(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  YamlBudget budget;
  return NodeToJson(root, YamlPath{}, 0, &budget);
}

StatusOr<nlohmann::json> GraphTextToJson(const std::string& text, bool yaml) {
  nlohmann::json j;
  if (yaml) {
    ASSIGN_OR_RETURN(j, YamlToJson(text));
  } else {
    // Copying or printing a deeply nested value recurses once per level: refuse it up front.
    if (const size_t at = FindJsonNestingOver(text, kMaxJsonNesting, /*comments=*/true);
        at != std::string_view::npos) {
      return InvalidArgumentError("arrays and objects nested deeper than " +
                                  std::to_string(kMaxJsonNesting) + " levels (at byte " +
                                  std::to_string(at) + ")");
    }
    j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (j.is_discarded()) {
      // Find the byte offset of the error for the message.
      try {
        const auto again = nlohmann::json::parse(text, nullptr, true, true);
        (void)again;
      } catch (const nlohmann::json::parse_error& e) {
        return InvalidArgumentError("JSON syntax error at byte " + std::to_string(e.byte) +
                                    " (a .yaml or .yml file is read as YAML)");
      } catch (const nlohmann::json::exception& e) {  // out_of_range: a number like 1e999
        return InvalidArgumentError(std::string("not valid JSON: ") + e.what());
      }
      return InvalidArgumentError("not valid JSON");
    }
  }
  return j;
}

StatusOr<Graph> ParseGraphText(const std::string& text, bool yaml) {
  ASSIGN_OR_RETURN(nlohmann::json j, GraphTextToJson(text, yaml));
  return ParseGraph(j);
}

StatusOr<Graph> LoadGraphFile(const std::string& path,
                              const std::vector<SeedExample>* extra_seeds) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  auto j = GraphTextToJson(text, EndsWith(path, ".yaml") || EndsWith(path, ".yml"));
  if (!j.ok()) return j.status().WithContext(path);
  if (extra_seeds != nullptr) RETURN_IF_ERROR(AddSeedExamples(*extra_seeds, &*j));
  auto g = ParseGraph(*j);
  if (!g.ok()) return g.status().WithContext(path);
  return g;
}

StatusOr<std::vector<std::string>> TemplateSlots(const std::string& tmpl) {
  std::vector<std::string> slots;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{') {
      if (i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
        ++i;
        continue;
      }
      const size_t close = tmpl.find('}', i + 1);
      if (close == std::string::npos) {
        return InvalidArgumentError("unclosed '{' at byte " + std::to_string(i) +
                                    " (write '{{' for a literal brace)");
      }
      const std::string name = tmpl.substr(i + 1, close - i - 1);
      if (!IsKnownSlot(name)) {
        return InvalidArgumentError(
            "unknown slot {" + name + "} at byte " + std::to_string(i) +
            " (known: {document} {history} {instruction} {phenomenon} {seed_examples}; '{{' for "
            "a literal brace)");
      }
      bool seen = false;
      for (const auto& s : slots) seen |= s == name;
      if (!seen) slots.push_back(name);
      i = close;
    } else if (c == '}') {
      if (i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
        ++i;
        continue;
      }
      return InvalidArgumentError("stray '}' at byte " + std::to_string(i) +
                                  " (write '}}' for a literal brace)");
    }
  }
  return slots;
}

std::string FillTemplate(const std::string& tmpl,
                         const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(tmpl.size() * 2);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if ((c == '{' || c == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '{') {
      const size_t close = tmpl.find('}', i + 1);
      CHECK(close != std::string::npos) << "template not validated";
      const auto it = values.find(tmpl.substr(i + 1, close - i - 1));
      CHECK(it != values.end()) << "slot " << tmpl.substr(i + 1, close - i - 1) << " not filled";
      out += it->second;
      i = close;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace odlm::codi
