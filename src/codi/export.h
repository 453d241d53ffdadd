// codi/export.h — `odlm codi export`: synthesized conversations in the formats trainers read.
//
//   hf       {"id", "messages": [{"role", "content"}], "weights": [per message]} — Hugging Face
//   chat
//            format; roles CONTEXT -> "system", AGENT/ASSISTANT -> "assistant", every other role
//            -> "user".
//   sharegpt {"id", "conversations": [{"from", "value", "weight"}]} — CONTEXT -> "system",
//            AGENT/ASSISTANT -> "gpt", others -> "human".
//   odlm     {"id", "text", "segments": [{"role", "start", "end", "weight"}]} — odlm's bracketed
//            role text "[CONTEXT]…[/CONTEXT] [USER]…[/USER] [AGENT]…[/AGENT]", segments joined by
//            one space; start/end are byte offsets of each bracketed segment (tags included) in
//            text, weight its role's loss weight.
// Only conversations with status "ok" are exported unless include_failed (then their completed
// turns are). Output is written crash-safely (temporary file + rename).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace odlm::codi {

enum class ExportFormat { kHf, kShareGpt, kOdlm };

StatusOr<ExportFormat> ParseExportFormat(const std::string& name);

// One record (as written by synth) in `format`.
StatusOr<nlohmann::json> ExportRecord(const nlohmann::json& record, ExportFormat format);

struct ExportSummary {
  size_t written = 0, skipped_failed = 0;
};

StatusOr<ExportSummary> ExportFile(const std::string& in, ExportFormat format,
                                   const std::string& out, bool include_failed);

}  // namespace odlm::codi
