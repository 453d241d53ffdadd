// eval/conversational_run.cc — CoDi prompts and the wave-batched answering loop.
#include "eval/conversational_run.h"

#include <algorithm>

#include "base/check.h"
#include "eval/qa_metrics.h"

namespace odlm::eval {
namespace {

// A dialog reduced to what the loop needs.
struct Dialog {
  std::string context;
  std::vector<std::string> questions;
  std::vector<std::string> gold_answers;  // for gold history
  std::string unanswerable;               // the dataset's answer for an unanswerable question
};

// `answer` as the dataset writes it: the dataset's unanswerable answer for a refusal.
std::string ToDataset(std::string answer, const Dialog& dialog, const RunOptions& options) {
  return IsRefusal(answer, options.refusal) ? dialog.unanswerable : answer;
}

StatusOr<std::vector<std::vector<std::string>>> RunDialogs(const std::vector<Dialog>& dialogs,
                                                           const Answerer& answerer,
                                                           const RunOptions& options) {
  if (options.max_batch == 0) return InvalidArgumentError("max_batch must be at least 1");
  std::vector<std::vector<std::string>> answers(dialogs.size());
  size_t max_turns = 0;
  for (const auto& d : dialogs) max_turns = std::max(max_turns, d.questions.size());
  for (size_t t = 0; t < max_turns; ++t) {
    std::vector<size_t> who;
    std::vector<QaPrompt> prompts;
    auto flush = [&]() -> Status {
      if (prompts.empty()) return Status::Ok();
      std::vector<std::string> out = answerer(prompts);
      if (out.size() != prompts.size()) {
        return FailedPreconditionError("answerer returned " + std::to_string(out.size()) +
                                       " answers for " + std::to_string(prompts.size()) +
                                       " prompts");
      }
      for (size_t i = 0; i < out.size(); ++i) answers[who[i]].push_back(CleanAnswer(out[i]));
      who.clear();
      prompts.clear();
      return Status::Ok();
    };
    for (size_t d = 0; d < dialogs.size(); ++d) {
      const Dialog& dialog = dialogs[d];
      if (t >= dialog.questions.size()) continue;
      std::vector<QaExchange> history;
      for (size_t k = 0; k < t; ++k) {
        std::string shown =
            options.history == HistoryMode::kGold ? dialog.gold_answers[k] : answers[d][k];
        // A gold "unknown" in the model's own words, which it was trained to say.
        if (options.history == HistoryMode::kGold && !options.refusal.empty() &&
            shown == dialog.unanswerable) {
          shown = options.refusal;
        }
        history.push_back({dialog.questions[k], std::move(shown)});
      }
      prompts.push_back(BuildCodiPrompt(dialog.context, history, dialog.questions[t]));
      who.push_back(d);
      if (prompts.size() == options.max_batch) RETURN_IF_ERROR(flush());
    }
    RETURN_IF_ERROR(flush());
  }
  return answers;
}

std::string_view Trim(std::string_view s) {
  const auto not_space = [](char c) { return c != ' ' && c != '\n' && c != '\t' && c != '\r'; };
  while (!s.empty() && !not_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && !not_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

QaPrompt BuildCodiPrompt(std::string_view context, const std::vector<QaExchange>& history,
                         std::string_view question) {
  QaPrompt p;
  p.messages.reserve(2 * history.size() + 2);
  p.messages.push_back({"context", std::string(context)});
  for (const auto& h : history) {
    p.messages.push_back({"user", h.question});
    p.messages.push_back({"assistant", h.answer});
  }
  p.messages.push_back({"user", std::string(question)});
  auto text = RenderChat("codi", p.messages, /*add_generation_prompt=*/true);
  CHECK(text.ok());  // a built-in template and known roles
  p.text = std::move(text).value();
  return p;
}

std::string CleanAnswer(std::string_view raw) {
  size_t cut = raw.size();
  for (std::string_view stop : {"[/AGENT]", "[USER]", "[/USER]"}) {
    cut = std::min(cut, raw.find(stop));
  }
  return std::string(Trim(raw.substr(0, cut)));
}

StatusOr<std::vector<CoqaPrediction>> RunCoqa(const CoqaDataset& data, const Answerer& answerer,
                                              const RunOptions& options) {
  std::vector<Dialog> dialogs;
  for (const auto& s : data.stories) {
    Dialog d;
    d.context = s.story;
    d.unanswerable = "unknown";
    for (const auto& t : s.turns) {
      d.questions.push_back(t.question);
      d.gold_answers.push_back(t.answers.empty() ? std::string() : t.answers[0]);
    }
    dialogs.push_back(std::move(d));
  }
  ASSIGN_OR_RETURN(auto answers, RunDialogs(dialogs, answerer, options));
  std::vector<CoqaPrediction> out;
  for (size_t s = 0; s < data.stories.size(); ++s) {
    for (size_t t = 0; t < data.stories[s].turns.size(); ++t) {
      out.push_back({data.stories[s].id, data.stories[s].turns[t].turn_id,
                     ToDataset(answers[s][t], dialogs[s], options)});
    }
  }
  return out;
}

StatusOr<std::vector<QuacPredictionLine>> RunQuac(const QuacDataset& data, const Answerer& answerer,
                                                  const RunOptions& options) {
  std::vector<Dialog> dialogs;
  for (const auto& q : data.dialogs) {
    Dialog d;
    d.context = q.context;
    d.unanswerable = std::string(kCannotAnswer);
    for (const auto& question : q.questions) {
      d.questions.push_back(question.question);
      d.gold_answers.push_back(question.orig_answer);
    }
    dialogs.push_back(std::move(d));
  }
  ASSIGN_OR_RETURN(auto answers, RunDialogs(dialogs, answerer, options));
  std::vector<QuacPredictionLine> out;
  for (size_t d = 0; d < data.dialogs.size(); ++d) {
    if (data.dialogs[d].questions.empty()) continue;
    QuacPredictionLine line;
    for (size_t q = 0; q < data.dialogs[d].questions.size(); ++q) {
      line.predictions.push_back({data.dialogs[d].questions[q].id,
                                  ToDataset(answers[d][q], dialogs[d], options), "x", "y"});
    }
    out.push_back(std::move(line));
  }
  return out;
}

bool IsRefusal(std::string_view answer, std::string_view refusal) {
  const std::string marker = NormalizeAnswer(refusal);
  return !marker.empty() && NormalizeAnswer(answer).find(marker) != std::string::npos;
}

}  // namespace odlm::eval
