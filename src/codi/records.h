// codi/records.h — reading a synthesized JSONL file back (stats, export).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace odlm::codi {

// Calls fn(record, line_number) for each record of a `odlm codi synth` output. Blank lines are
// skipped; a last line without its newline that is not valid JSON (a run killed mid-write, not
// yet resumed) is skipped and counted in *torn (may be null); any other unparseable line or a
// record without "id", "status", "walk" and "turns" is an error naming the line. Stops at fn's
// first error.
Status ForEachRecord(const std::string& path,
                     const std::function<Status(const nlohmann::json&, size_t)>& fn,
                     size_t* torn = nullptr);

}  // namespace odlm::codi
