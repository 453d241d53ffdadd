// fuzz/codi_graph_fuzzer.cc — CoDi conversation graphs (codi/graph.h) from arbitrary JSON or YAML
// text: a validated graph or an error, never a crash or a hang (deep nesting and YAML alias
// expansion are bounded). The first byte picks the syntax.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "codi/graph.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool yaml = (data[0] & 1) != 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto g = odlm::codi::ParseGraphText(text, yaml);
  if (!g.ok()) return 0;
  // What ParseGraph promises the walk and the link execution.
  FUZZ_CHECK(!g->links.empty());
  FUZZ_CHECK(g->start.size() == g->links.size());
  FUZZ_CHECK(g->transitions.size() == g->links.size());
  for (const auto& link : g->links) {
    FUZZ_CHECK(g->role_weights.count(link.role) == 1);
    FUZZ_CHECK(link.min_words <= link.max_words);
  }
  return 0;
}
