// codi/seeds.h — seed examples from a file: the CoDi paper's per-turn augmentation, where each
// link's prompt shows a few examples drawn from a large pool (questions in many styles, answers of
// many shapes) so that tens of thousands of conversations do not all sound alike.
//
// The file is JSONL, one example per line: {"link": NAME, "text": EXAMPLE}; "link" may be left out
// (or "*"), and the example then serves every link whose template asks for {seed_examples}. Blank
// lines are skipped. The examples are appended to the graph's own (graph.h Link::seeds) before the
// graph is validated, and n_seeds of them are drawn per turn as for inline seeds.
// Pure functions but for reading the file; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace odlm::codi {

struct SeedExample {
  std::string link;  // "" for every link that uses {seed_examples}
  std::string text;
};

// Reads the file. InvalidArgument naming the line for a line that is not an object with a
// non-empty string "text" (and, if present, a string "link"); for a file with no examples.
StatusOr<std::vector<SeedExample>> LoadSeedExamples(const std::string& path);

// Appends `seeds` to the "seeds" arrays of the links of `graph` (a graph's JSON, not yet
// validated). InvalidArgument when an example names a link the graph lacks, or a link whose
// template has no {seed_examples} slot (naming the link); when no link takes the examples without a
// link name. On error `graph` is unchanged.
Status AddSeedExamples(const std::vector<SeedExample>& seeds, nlohmann::json* graph);

}  // namespace odlm::codi
