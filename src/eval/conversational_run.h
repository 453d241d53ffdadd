// eval/conversational_run.h — running a model over CoQA / QuAC dialogs: the CoDi prompt and the
// batched loop that turns an answerer's outputs into official-format predictions.
//
// Prompt (CoDi role format, docs/EVAL.md), one line per role block, ending with an open AGENT
// block for the model to complete:
//   [CONTEXT]<document>[/CONTEXT] [USER]<q1>[/USER] [AGENT]<a1>[/AGENT] … [USER]<q>[/USER] [AGENT]
// History answers come from the references (gold: CoQA's main answer, QuAC's orig_answer) or from
// the model's own earlier answers (pred). The loop proceeds in waves: wave t asks turn t of every
// dialog that has one, in batches of at most `max_batch` prompts from different dialogs, so with
// pred history each turn sees the answers of the wave before.
// The answerer is any callable; the engine hook is an Answerer that generates, per prompt, the
// AGENT text (stopping at "[/AGENT]"). Its raw outputs go through CleanAnswer. A prompt comes as
// messages (the "codi" chat template's roles) so the engine hook tokenizes it with EncodeChat
// (tokenizer/chat_template.h): dataset text is plain text, never a control token.
// Thread-safety: the functions are reentrant; the answerer is called from the calling thread only.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "eval/coqa.h"
#include "eval/quac.h"
#include "tokenizer/chat_template.h"

namespace odlm::eval {

enum class HistoryMode { kGold, kPred };

// One question's prompt: the conversation, and its rendering with the "codi" template (the
// prompt text above; for display and tests; tokenize `messages` with EncodeChat, not `text`).
struct QaPrompt {
  std::vector<ChatMessage> messages;  // context, then user / assistant turns, ending with user
  std::string text;
};

// Given prompts, returns one answer text per prompt, in order.
using Answerer = std::function<std::vector<std::string>(const std::vector<QaPrompt>& prompts)>;

struct QaExchange {
  std::string question;
  std::string answer;
};

QaPrompt BuildCodiPrompt(std::string_view context, const std::vector<QaExchange>& history,
                         std::string_view question);

// The answer part of a model output: up to the first "[/AGENT]" (or "[USER]" / "[/USER]", should
// the model run on), whitespace-trimmed.
std::string CleanAnswer(std::string_view raw);

struct RunOptions {
  HistoryMode history = HistoryMode::kGold;
  size_t max_batch = 8;  // prompts per answerer call (≥ 1)
  // The model's own way of saying a question cannot be answered (e.g. "The document does not
  // say."), translated both ways: an answer that holds it (IsRefusal) is written as the dataset's
  // answer for unanswerable questions ("unknown" in CoQA, "CANNOTANSWER" in QuAC), as the
  // official scorers expect, and such a gold answer in a gold history is shown to the model as
  // this text. The model's own words stay in its pred history. Empty: no translation.
  std::string refusal;
};

// Whether `answer` holds `refusal` once both are normalized as the CoQA scorer normalizes answers
// (case, punctuation, articles, spaces). An empty refusal never matches.
bool IsRefusal(std::string_view answer, std::string_view refusal);

// Runs every question; returns predictions in dataset order. Errors: the answerer returned a
// different number of answers than prompts (FailedPrecondition), max_batch == 0.
StatusOr<std::vector<CoqaPrediction>> RunCoqa(const CoqaDataset& data, const Answerer& answerer,
                                              const RunOptions& options);
// QuAC predictions carry yesno "x" and followup "y": a generative model predicts neither, so those
// two accuracies are not meaningful for its output (F1, HEQ and unanswerable are). A model that
// answers "CANNOTANSWER" verbatim is scored as declining.
StatusOr<std::vector<QuacPredictionLine>> RunQuac(const QuacDataset& data, const Answerer& answerer,
                                                  const RunOptions& options);

}  // namespace odlm::eval
