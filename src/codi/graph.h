// codi/graph.h — the conversation graph of CoDi (REFERENCE.md §4): turn types ("links") with their
// roles and prompt templates, a Markov chain over them (start distribution, transition matrix,
// length distribution), linguistic phenomena with per-link probabilities, and role loss weights.
//
// A graph is read from JSON or YAML (docs/CODI.md documents every field; examples/codi/ holds a
// commented example). ParseGraph validates everything a walk or a link execution will rely on, so
// later stages CHECK instead of returning errors:
//   - every probability row (start, each transition row, lengths, per-link phenomena) is made of
//     finite non-negative numbers summing to 1 within 1e-6 (phenomena: at most 1; the rest is "no
//     phenomenon");
//   - every link named anywhere exists, every link has a transition row, every link is reachable
//     from the start distribution;
//   - every template slot is known ({document} {history} {instruction} {phenomenon}
//     {seed_examples}; "{{" and "}}" are literal braces) and can be filled (an {instruction} slot
//     needs an instruction, {seed_examples} needs seeds, {phenomenon} needs phenomena);
//   - lengths are integers >= 1, word bounds are consistent, every role has a loss weight.
// Errors name the field as a path ("links.answer.template") and say what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "codi/seeds.h"

namespace odlm::codi {

// How a link's turn text is produced.
enum class LinkSource {
  kTeacher,   // the teacher writes it from the filled template
  kDocument,  // the turn is the grounding document itself (a CONTEXT turn); no teacher call
};

// What the turn validator checks beyond non-empty text and word bounds.
enum class LinkCheck {
  kNone,
  kGrounded,  // an answer: its content words must be supported by the document (lexical overlap)
  kRefusal,   // an answer to an unanswerable question: must say the document does not tell
  kQuestion,  // a question: must contain '?'
};

struct Link {
  std::string name;
  std::string role;  // CONTEXT, USER, AGENT or any other name
  LinkSource source = LinkSource::kTeacher;
  LinkCheck check = LinkCheck::kNone;
  std::string instruction;
  std::string prompt_template;     // with {slot}s; empty for source == kDocument
  std::vector<std::string> seeds;  // examples to diversify; n_seeds of them fill {seed_examples}
  int n_seeds = 2;
  int min_words = 1;
  int max_words = 200;
  double min_support = 0.5;  // kGrounded: fraction of content words found in the document
  int max_tokens = 256;
  double temperature = 0.8;
  double top_p = 0.95;
  // Phenomenon name -> probability that this turn is asked to show it; sums to <= 1.
  std::vector<std::pair<std::string, double>> phenomena;
  std::vector<std::string> slots;  // the distinct slots its template uses, in order
};

struct Graph {
  std::string name;
  std::string system_prompt;  // optional system message sent with every teacher request
  std::vector<Link> links;    // index = link id
  std::map<std::string, int> link_index;
  std::vector<double> start;                     // [n_links]
  std::vector<std::vector<double>> transitions;  // [n_links][n_links], row = from
  std::vector<std::pair<int, double>> lengths;   // (turns in the walk, probability)
  std::map<std::string, std::string> phenomena;  // name -> instruction text
  std::map<std::string, double> role_weights;    // role -> loss weight
  std::vector<std::string> refusal_markers;      // lower-case phrases a refusal must contain one of

  int LinkId(const std::string& name) const;  // -1 if unknown
  int max_length() const;
  double RoleWeight(const std::string& role) const;  // CHECKs the role is known (validated)
};

// Parses and validates a graph given as JSON (already parsed). `where` names the source in errors.
StatusOr<Graph> ParseGraph(const nlohmann::json& j);

// Reads FILE (.json, or .yaml/.yml parsed with yaml-cpp) and parses it. Errors carry the path and,
// for syntax errors, the line/column or byte offset. `extra_seeds` (may be null): seed examples
// from a file (codi/seeds.h), added to the links before the graph is validated, so a link may take
// every seed from there.
StatusOr<Graph> LoadGraphFile(const std::string& path,
                              const std::vector<SeedExample>* extra_seeds = nullptr);
// The same for a file's text (JSON with comments, or YAML).
StatusOr<Graph> ParseGraphText(const std::string& text, bool yaml);
// The file's text as JSON, before validation (errors as LoadGraphFile's).
StatusOr<nlohmann::json> GraphTextToJson(const std::string& text, bool yaml);

// Parses YAML text into JSON: mappings -> objects, sequences -> arrays, plain scalars -> null,
// bool, integer or number when they read as one, everything else (and quoted scalars) -> string.
// Bounded, so that no file can hang or crash the reader: nesting deeper than kMaxJsonNesting (64)
// levels, and documents whose aliases expand to more than 100,000 nodes or 64 MiB of scalars,
// are errors (JSON text is held to the same nesting bound before it is parsed).
StatusOr<nlohmann::json> YamlToJson(const std::string& text);

// The slot names a template uses, in order of first use; error on an unknown slot or an unclosed
// brace (with the byte offset).
StatusOr<std::vector<std::string>> TemplateSlots(const std::string& tmpl);

// Fills a template's {slot}s from `values` (every used slot must be present: CHECKed — templates
// are validated at load) and turns "{{" / "}}" into literal braces.
std::string FillTemplate(const std::string& tmpl, const std::map<std::string, std::string>& values);

}  // namespace odlm::codi
