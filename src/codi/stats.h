// codi/stats.h — `odlm codi stats`: what a synthesized file holds, against the graph that made it.
//
// Reports (as JSON; FormatStats renders a table): conversations ok/failed and failures by reason;
// turns per role with word-count mean/p50/p95/max; turns per link; phenomena frequencies (overall
// and per link, with the configured probability when the graph is given) — planned, i.e. what
// the walks asked for, and for checkable ones (codi/phenomena.h) how many turns were checked and
// showed it ("verified", "verified_rate"); grounding (turns with a
// support score: count, mean, share at or above the link's min_support, 0.5 without the graph);
// diversity (distinct-1/2 of USER questions and AGENT answers, conversations whose dialogue — the
// turns but the CONTEXT — near-duplicates an earlier one's, codi/near_duplicates.h, and
// conversations per document); observed transitions, and with the graph a chi-square test per row,
// for the start and the length distributions, and combined (sum of statistics and degrees of
// freedom). The walks of failed conversations count for the chain tests: the blueprint is sampled
// in full before any turn runs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "codi/graph.h"

namespace odlm::codi {

// `g` may be null (no chi-square then). Records naming a link the graph does not have are an error.
StatusOr<nlohmann::json> ComputeStats(const std::string& path, const Graph* g);

std::string FormatStats(const nlohmann::json& stats);

}  // namespace odlm::codi
