// codi/graph.cc — parsing and validating a conversation graph (contract in graph.h).
#include "codi/graph.h"

#include <cmath>
#include <deque>
#include <set>

#include "base/ascii.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

constexpr double kSumTolerance = 1e-6;

const std::vector<std::string>& DefaultRefusalMarkers() {
  static const std::vector<std::string> m = {
      "not mention",  "doesn't mention", "does not mention", "doesn't say",     "does not say",
      "not say",      "not stated",      "no information",   "not provided",    "cannot answer",
      "can't answer", "not specified",   "doesn't tell",     "does not tell",   "not in the text",
      "unknown",      "not covered",     "isn't mentioned",  "is not mentioned"};
  return m;
}

std::string TypeName(const json& v) { return v.type_name(); }

Status WrongType(const std::string& path, const char* expected, const json& v) {
  return InvalidArgumentError(path + ": expected " + expected + ", got " + TypeName(v));
}

StatusOr<std::string> GetString(const json& o, const std::string& key, const std::string& path,
                                bool required, const std::string& fallback = "") {
  if (!o.contains(key) || o[key].is_null()) {
    if (required) return InvalidArgumentError(path + "." + key + ": missing (expected a string)");
    return fallback;
  }
  if (!o[key].is_string()) return WrongType(path + "." + key, "a string", o[key]);
  return o[key].get<std::string>();
}

StatusOr<double> GetNumber(const json& o, const std::string& key, const std::string& path,
                           double fallback, double lo, double hi) {
  if (!o.contains(key) || o[key].is_null()) return fallback;
  if (!o[key].is_number()) return WrongType(path + "." + key, "a number", o[key]);
  const double v = o[key].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    return InvalidArgumentError(path + "." + key + ": " + o[key].dump() + " is out of range [" +
                                json(lo).dump() + ", " + json(hi).dump() + "]");
  }
  return v;
}

StatusOr<int> GetInt(const json& o, const std::string& key, const std::string& path, int fallback,
                     int lo, int hi) {
  if (!o.contains(key) || o[key].is_null()) return fallback;
  if (!o[key].is_number_integer()) return WrongType(path + "." + key, "an integer", o[key]);
  const long long v = o[key].get<long long>();
  if (v < lo || v > hi) {
    return InvalidArgumentError(path + "." + key + ": " + std::to_string(v) + " is out of range [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(v);
}

// A probability row {name: p, ...}. With `exact`, it must sum to 1; otherwise to at most 1.
StatusOr<std::vector<std::pair<std::string, double>>> GetRow(const json& v, const std::string& path,
                                                             bool exact) {
  if (!v.is_object()) return WrongType(path, "an object of name: probability", v);
  std::vector<std::pair<std::string, double>> row;
  double sum = 0;
  for (const auto& [k, p] : v.items()) {
    if (!p.is_number()) return WrongType(path + "." + k, "a probability (number)", p);
    const double x = p.get<double>();
    if (!std::isfinite(x) || x < 0 || x > 1) {
      return InvalidArgumentError(path + "." + k + ": probability " + p.dump() +
                                  " is not in [0, 1]");
    }
    sum += x;
    row.emplace_back(k, x);
  }
  if (exact && std::fabs(sum - 1.0) > kSumTolerance) {
    return InvalidArgumentError(path + ": probabilities sum to " + json(sum).dump() +
                                ", expected 1 (within 1e-6)");
  }
  if (!exact && sum > 1.0 + kSumTolerance) {
    return InvalidArgumentError(path + ": probabilities sum to " + json(sum).dump() +
                                ", expected at most 1 (the rest is 'no phenomenon')");
  }
  return row;
}

StatusOr<Link> ParseLink(const std::string& name, const json& v, const Graph& g) {
  const std::string path = "links." + name;
  if (!v.is_object()) return WrongType(path, "an object", v);
  static const std::set<std::string> kKeys = {
      "role",       "source",      "check",     "instruction", "template",
      "seeds",      "n_seeds",     "min_words", "max_words",   "min_support",
      "max_tokens", "temperature", "top_p",     "phenomena",   "description"};
  for (const auto& [k, _] : v.items()) {
    if (!kKeys.count(k)) return InvalidArgumentError(path + "." + k + ": unknown field");
  }
  Link l;
  l.name = name;
  ASSIGN_OR_RETURN(l.role, GetString(v, "role", path, true));
  if (l.role.empty()) return InvalidArgumentError(path + ".role: empty");
  if (!g.role_weights.count(l.role)) {
    return InvalidArgumentError(path + ".role: role '" + l.role +
                                "' has no loss weight in 'roles' (add it, e.g. \"" + l.role +
                                "\": 0)");
  }
  ASSIGN_OR_RETURN(std::string source, GetString(v, "source", path, false, "teacher"));
  if (source == "teacher") {
    l.source = LinkSource::kTeacher;
  } else if (source == "document") {
    l.source = LinkSource::kDocument;
  } else {
    return InvalidArgumentError(path + ".source: '" + source +
                                "' (expected \"teacher\" or \"document\")");
  }
  ASSIGN_OR_RETURN(std::string check, GetString(v, "check", path, false, "none"));
  if (check == "none") {
    l.check = LinkCheck::kNone;
  } else if (check == "grounded") {
    l.check = LinkCheck::kGrounded;
  } else if (check == "refusal") {
    l.check = LinkCheck::kRefusal;
  } else if (check == "question") {
    l.check = LinkCheck::kQuestion;
  } else {
    return InvalidArgumentError(path + ".check: '" + check +
                                "' (expected none, grounded, refusal or question)");
  }
  ASSIGN_OR_RETURN(l.instruction, GetString(v, "instruction", path, false));
  ASSIGN_OR_RETURN(l.prompt_template,
                   GetString(v, "template", path, l.source == LinkSource::kTeacher));
  if (v.contains("seeds") && !v["seeds"].is_null()) {
    if (!v["seeds"].is_array())
      return WrongType(path + ".seeds", "an array of strings", v["seeds"]);
    for (size_t i = 0; i < v["seeds"].size(); ++i) {
      const json& s = v["seeds"][i];
      if (!s.is_string() || s.get<std::string>().empty()) {
        return WrongType(path + ".seeds[" + std::to_string(i) + "]", "a non-empty string", s);
      }
      l.seeds.push_back(s.get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(l.n_seeds, GetInt(v, "n_seeds", path, 2, 1, 100));
  ASSIGN_OR_RETURN(l.min_words, GetInt(v, "min_words", path, 1, 1, 1 << 20));
  ASSIGN_OR_RETURN(l.max_words, GetInt(v, "max_words", path, 200, 1, 1 << 20));
  if (l.min_words > l.max_words) {
    return InvalidArgumentError(path + ": min_words " + std::to_string(l.min_words) +
                                " > max_words " + std::to_string(l.max_words));
  }
  ASSIGN_OR_RETURN(l.min_support, GetNumber(v, "min_support", path, 0.5, 0, 1));
  ASSIGN_OR_RETURN(l.max_tokens, GetInt(v, "max_tokens", path, 256, 1, 1 << 20));
  ASSIGN_OR_RETURN(l.temperature, GetNumber(v, "temperature", path, 0.8, 0, 2));
  ASSIGN_OR_RETURN(l.top_p, GetNumber(v, "top_p", path, 0.95, 0, 1));
  if (v.contains("phenomena") && !v["phenomena"].is_null()) {
    ASSIGN_OR_RETURN(l.phenomena, GetRow(v["phenomena"], path + ".phenomena", false));
    for (const auto& [ph, _] : l.phenomena) {
      if (!g.phenomena.count(ph)) {
        return InvalidArgumentError(path + ".phenomena." + ph +
                                    ": unknown phenomenon (define it under 'phenomena')");
      }
    }
  }
  if (l.source == LinkSource::kDocument) {
    if (!l.prompt_template.empty() || !l.phenomena.empty() || l.check != LinkCheck::kNone) {
      return InvalidArgumentError(path +
                                  ": a \"document\" link takes its text from the document; "
                                  "it has no template, phenomena or check");
    }
    return l;
  }
  auto slots = TemplateSlots(l.prompt_template);
  if (!slots.ok()) return slots.status().WithContext(path + ".template");
  l.slots = std::move(slots).value();
  auto uses = [&](const char* s) {
    for (const auto& x : l.slots) {
      if (x == s) return true;
    }
    return false;
  };
  if (uses("instruction") && l.instruction.empty()) {
    return InvalidArgumentError(path +
                                ".template: uses {instruction} but the link has no "
                                "'instruction' to fill it");
  }
  if (uses("seed_examples") && l.seeds.empty()) {
    return InvalidArgumentError(path +
                                ".template: uses {seed_examples} but the link has no "
                                "'seeds' to fill it");
  }
  if (uses("phenomenon") && l.phenomena.empty()) {
    return InvalidArgumentError(path +
                                ".template: uses {phenomenon} but the link has no "
                                "'phenomena' to fill it");
  }
  if (!l.phenomena.empty() && !uses("phenomenon")) {
    return InvalidArgumentError(path +
                                ".template: the link has phenomena but its template has "
                                "no {phenomenon} slot to ask for them");
  }
  if (!l.seeds.empty() && !uses("seed_examples")) {
    return InvalidArgumentError(path +
                                ".template: the link has seeds but its template has no "
                                "{seed_examples} slot");
  }
  if (!l.instruction.empty() && !uses("instruction")) {
    return InvalidArgumentError(path +
                                ".template: the link has an instruction but its template "
                                "has no {instruction} slot");
  }
  return l;
}

}  // namespace

int Graph::LinkId(const std::string& n) const {
  const auto it = link_index.find(n);
  return it == link_index.end() ? -1 : it->second;
}

int Graph::max_length() const {
  int m = 0;
  for (const auto& [n, p] : lengths) m = std::max(m, n);
  return m;
}

double Graph::RoleWeight(const std::string& role) const {
  const auto it = role_weights.find(role);
  CHECK(it != role_weights.end()) << "role " << role << " not validated";
  return it->second;
}

StatusOr<Graph> ParseGraph(const json& j) {
  if (!j.is_object()) return WrongType("graph", "an object", j);
  static const std::set<std::string> kKeys = {"name",        "description",     "system", "roles",
                                              "phenomena",   "refusal_markers", "links",  "start",
                                              "transitions", "length"};
  for (const auto& [k, _] : j.items()) {
    if (!kKeys.count(k)) {
      return InvalidArgumentError(k +
                                  ": unknown top-level field (expected one of name, "
                                  "description, system, roles, phenomena, refusal_markers, "
                                  "links, start, transitions, length)");
    }
  }
  Graph g;
  ASSIGN_OR_RETURN(g.name, GetString(j, "name", "graph", false, "unnamed"));
  ASSIGN_OR_RETURN(g.system_prompt, GetString(j, "system", "graph", false));
  // Roles and their loss weights.
  if (!j.contains("roles")) {
    return InvalidArgumentError(
        "roles: missing (expected role: loss weight, e.g. {\"CONTEXT\": "
        "0, \"USER\": 0, \"AGENT\": 1})");
  }
  if (!j["roles"].is_object() || j["roles"].empty()) {
    return WrongType("roles", "a non-empty object of role: loss weight", j["roles"]);
  }
  for (const auto& [r, w] : j["roles"].items()) {
    if (!w.is_number() || !std::isfinite(w.get<double>()) || w.get<double>() < 0) {
      // Only a number is quoted: the value may be anything the file holds.
      return InvalidArgumentError("roles." + r + ": loss weight " +
                                  (w.is_number() ? w.dump() : "of type " + TypeName(w)) +
                                  " (expected a number >= 0)");
    }
    g.role_weights[r] = w.get<double>();
  }
  // Phenomena.
  if (j.contains("phenomena") && !j["phenomena"].is_null()) {
    if (!j["phenomena"].is_object()) {
      return WrongType("phenomena", "an object of name: instruction text", j["phenomena"]);
    }
    for (const auto& [name, text] : j["phenomena"].items()) {
      if (!text.is_string() || text.get<std::string>().empty()) {
        return WrongType("phenomena." + name, "a non-empty instruction string", text);
      }
      g.phenomena[name] = text.get<std::string>();
    }
  }
  if (j.contains("refusal_markers")) {
    const json& m = j["refusal_markers"];
    if (!m.is_array() || m.empty()) return WrongType("refusal_markers", "a non-empty array", m);
    for (const auto& s : m) {
      if (!s.is_string() || s.get<std::string>().empty()) {
        return WrongType("refusal_markers[]", "a non-empty string", s);
      }
      g.refusal_markers.push_back(AsciiLower(s.get<std::string>()));
    }
  } else {
    g.refusal_markers = DefaultRefusalMarkers();
  }
  // Links.
  if (!j.contains("links") || !j["links"].is_object() || j["links"].empty()) {
    return InvalidArgumentError("links: missing or empty (expected an object of link name: link)");
  }
  for (const auto& [name, v] : j["links"].items()) {
    ASSIGN_OR_RETURN(Link l, ParseLink(name, v, g));
    g.link_index[name] = static_cast<int>(g.links.size());
    g.links.push_back(std::move(l));
  }
  const size_t n = g.links.size();
  auto lookup = [&](const std::string& name, const std::string& path) -> StatusOr<int> {
    const int id = g.LinkId(name);
    if (id < 0) return InvalidArgumentError(path + ": unknown link '" + name + "'");
    return id;
  };
  // Start distribution.
  if (!j.contains("start")) return InvalidArgumentError("start: missing (expected link: p)");
  ASSIGN_OR_RETURN(auto start_row, GetRow(j["start"], "start", true));
  g.start.assign(n, 0.0);
  for (const auto& [name, p] : start_row) {
    ASSIGN_OR_RETURN(int id, lookup(name, "start." + name));
    g.start[id] = p;
  }
  // Transitions.
  if (!j.contains("transitions") || !j["transitions"].is_object()) {
    return InvalidArgumentError("transitions: missing (expected from-link: {to-link: p})");
  }
  g.transitions.assign(n, std::vector<double>(n, 0.0));
  std::vector<bool> has_row(n, false);
  for (const auto& [from, row] : j["transitions"].items()) {
    ASSIGN_OR_RETURN(int f, lookup(from, "transitions." + from));
    ASSIGN_OR_RETURN(auto cells, GetRow(row, "transitions." + from, true));
    for (const auto& [to, p] : cells) {
      ASSIGN_OR_RETURN(int t, lookup(to, "transitions." + from + "." + to));
      g.transitions[f][t] = p;
    }
    has_row[f] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!has_row[i]) {
      return InvalidArgumentError("transitions: link '" + g.links[i].name +
                                  "' has no row (every link needs its outgoing probabilities)");
    }
  }
  // Lengths: {"5": 0.5, "7": 0.5}.
  if (!j.contains("length")) {
    return InvalidArgumentError("length: missing (expected turns: p, e.g. {\"5\": 1})");
  }
  ASSIGN_OR_RETURN(auto length_row, GetRow(j["length"], "length", true));
  for (const auto& [k, p] : length_row) {
    char* end = nullptr;
    const long v = std::strtol(k.c_str(), &end, 10);
    if (k.empty() || end != k.c_str() + k.size() || v < 1 || v > 10000) {
      return InvalidArgumentError("length." + k +
                                  ": a walk length must be an integer number of turns in "
                                  "[1, 10000]");
    }
    if (p > 0) g.lengths.emplace_back(static_cast<int>(v), p);
  }
  std::sort(g.lengths.begin(), g.lengths.end());
  // Reachability from the start distribution within the longest walk.
  std::vector<int> depth(n, -1);
  std::deque<int> queue;
  for (size_t i = 0; i < n; ++i) {
    if (g.start[i] > 0) {
      depth[i] = 0;
      queue.push_back(static_cast<int>(i));
    }
  }
  while (!queue.empty()) {
    const int f = queue.front();
    queue.pop_front();
    for (size_t t = 0; t < n; ++t) {
      if (g.transitions[f][t] > 0 && depth[t] < 0) {
        depth[t] = depth[f] + 1;
        queue.push_back(static_cast<int>(t));
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (depth[i] < 0) {
      return InvalidArgumentError("links." + g.links[i].name +
                                  ": unreachable (no path from the start distribution leads "
                                  "to it with probability > 0)");
    }
    if (depth[i] >= g.max_length()) {
      return InvalidArgumentError("links." + g.links[i].name +
                                  ": unreachable within the longest "
                                  "walk (" +
                                  std::to_string(g.max_length()) + " turns; it needs " +
                                  std::to_string(depth[i] + 1) + ")");
    }
  }
  return g;
}

}  // namespace odlm::codi
