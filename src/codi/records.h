// codi/records.h — reading JSONL back: a synthesized file (stats, export), and any file of one JSON
// object per line (documents, seed examples).
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

// The dialogue of a record: the texts of its turns but the CONTEXT ones (the document), one per
// line — what near-duplicate detection compares (stats, export --dedup). Malformed turns are
// skipped.
std::string DialogueText(const nlohmann::json& record);

// Calls fn(object, "PATH:LINE") for each non-blank line of a JSONL file. A line that is not a JSON
// object is InvalidArgument "PATH:LINE: not a JSON object (expected `expected`)". A leading UTF-8
// byte order mark is ignored. Stops at fn's first error.
Status ForEachJsonlObject(
    const std::string& path, const std::string& expected,
    const std::function<Status(const nlohmann::json&, const std::string&)>& fn);

}  // namespace odlm::codi
