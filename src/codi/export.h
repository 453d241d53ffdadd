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
//            text, weight its role's loss weight. A role tag inside a turn's text ("[AGENT]" in a
//            document) is written with parentheses, "(AGENT)", so that every segment holds
//            exactly its own two tags (NeutralizeRoleTags).
//   coqa     one JSON file, not JSONL: a CoQA-format dataset (what `odlm eval score coqa` and the
//            official evaluate-v1.0.py read), so any synthesized set can be an evaluation set:
//            {"version": "1.0", "data": [{"id" (the conversation id), "source": "wikipedia",
//            "filename" (the document id), "story" (the first CONTEXT turn), "questions":
//            [{"input_text", "turn_id"}], "answers": [{"input_text", "span_text", "span_start",
//            "span_end", "turn_id"}]}]}. Each USER-side turn followed by an AGENT turn is one
//            question (turn_id from 1); other turns are left out. An answer that is a refusal (an
//            AGENT turn with no grounding score whose text holds one of CoDi's default refusal
//            markers, e.g. "does not say") becomes "unknown" with span -1..-1, as in CoQA.
//            span_start/span_end are code-point offsets of the answer's text (without a final
//            '.') in the story, found case-insensitively; an answer not found verbatim ("Yes.")
//            has no span fields. Conversations without a CONTEXT turn or without a question are
//            skipped (skipped_unusable).
// Only conversations with status "ok" are exported unless include_failed (then their completed
// turns are). Conversations are written in id order (synthesis finishes them in any order under
// --concurrency), so one synthesized set always exports to the same bytes. Output is written
// crash-safely (temporary file + rename).
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"

namespace odlm::codi {

enum class ExportFormat { kHf, kShareGpt, kOdlm, kCoqa };

StatusOr<ExportFormat> ParseExportFormat(const std::string& name);

// `text` with "[R]" and "[/R]" for every R in `roles` written as "(R)" and "(/R)".
std::string NeutralizeRoleTags(std::string_view text, const std::set<std::string>& roles);

// One record (as written by synth) in `format`; for kCoqa one element of "data", or a null JSON
// value when the conversation has no story or no question.
StatusOr<nlohmann::json> ExportRecord(const nlohmann::json& record, ExportFormat format);

struct ExportSummary {
  size_t written = 0, skipped_failed = 0;
  size_t skipped_unusable = 0;    // coqa: no CONTEXT turn or no question-answer pair
  size_t skipped_duplicates = 0;  // dedup: near-duplicates of a conversation earlier by id
};

struct ExportOptions {
  bool include_failed = false;  // also export given-up conversations' completed turns
  bool dedup = false;  // drop a conversation whose dialogue (DialogueText) near-duplicates one
                       // earlier by id (codi/near_duplicates.h, Jaccard of word 3-grams >= 0.8)
  // > 0: keep each conversation's turns up to and including its max_exchanges-th AGENT turn
  // (the CONTEXT and USER turns before it too): shorter conversations from the same set, e.g. for
  // a conversation-length ablation. A conversation with fewer exchanges is kept whole.
  int max_exchanges = 0;
};

// Exports every record of `in` (failed ones only with include_failed) in id order.
StatusOr<ExportSummary> ExportFile(const std::string& in, ExportFormat format,
                                   const std::string& out, const ExportOptions& options = {});

}  // namespace odlm::codi
