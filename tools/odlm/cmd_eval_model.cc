// tools/odlm/cmd_eval_model.cc — the model-running half of `odlm eval` (see eval_model.h).
// Registers no command of its own: cmd_eval.cc adds the coqa / quac subcommands.
#include <algorithm>
#include <cstdio>

#include "command.h"
#include "common_options.h"
#include "eval/conversational_run.h"
#include "eval_model.h"
#include "platform/process_stats.h"
#include "qa_run.h"
#include "tokenizer/chat_template.h"

namespace odlm::cli {
namespace {

// What fitting a prompt into the context cost it.
struct FitCounts {
  int64_t history_shortened = 0;  // prompts that lost their oldest exchanges
  int64_t exchanges_dropped = 0;
  int64_t document_cut = 0;  // prompts whose document lost its beginning
  int64_t hard_cut = 0;      // prompts cut token-wise (the question alone did not fit)
};

// The prompt's tokens in at most `limit` tokens (docs/EVAL.md, "Long prompts"): first the oldest
// question/answer pairs of the history go, one pair at a time, then the document loses its
// beginning (cut at a space, so its end, nearest the later turns, stays); if the question
// alone still does not fit, the tokens after BOS are cut from the left. messages: [context,
// (user, assistant)*, user], as eval::BuildCodiPrompt makes them.
StatusOr<std::vector<int32_t>> FitPrompt(const Tokenizer& tok, std::vector<ChatMessage> messages,
                                         size_t limit, FitCounts* counts) {
  ASSIGN_OR_RETURN(std::vector<int32_t> t, EncodeChat(tok, "codi", messages, true));
  bool shortened = false, cut = false;
  while (t.size() > limit && messages.size() > 2) {  // drop the oldest exchange
    messages.erase(messages.begin() + 1, messages.begin() + 3);
    ++counts->exchanges_dropped;
    shortened = true;
    ASSIGN_OR_RETURN(t, EncodeChat(tok, "codi", messages, true));
  }
  std::string& doc = messages.front().content;
  while (t.size() > limit && !doc.empty()) {  // cut the document's beginning
    const size_t doc_tokens = std::max<size_t>(1, tok.Encode(doc, false, false).size());
    const double chars_per_token = static_cast<double>(doc.size()) / doc_tokens;
    size_t drop = static_cast<size_t>((t.size() - limit + 4) * chars_per_token) + 1;
    if (drop >= doc.size()) {
      doc.clear();
    } else {
      const size_t space = doc.find(' ', drop);  // a word boundary (and a UTF-8 one)
      if (space != std::string::npos) {
        drop = space + 1;
      } else {
        while (drop < doc.size() && (static_cast<unsigned char>(doc[drop]) & 0xC0) == 0x80) ++drop;
      }
      doc.erase(0, drop);
    }
    cut = true;
    ASSIGN_OR_RETURN(t, EncodeChat(tok, "codi", messages, true));
  }
  if (t.size() > limit) {
    const size_t keep_head = tok.add_bos() ? 1 : 0;
    t.erase(t.begin() + keep_head, t.end() - (limit - keep_head));
    ++counts->hard_cut;
  }
  counts->history_shortened += shortened;
  counts->document_cut += cut;
  return t;
}

}  // namespace

int RunEvalModel(const EvalModelArgs& a) {
  if (const std::string e = QaRunArgsError(a); !e.empty()) {
    std::fprintf(stderr, "odlm eval: %s\n", e.c_str());
    return kExitUsage;
  }
  auto data = LoadQaData(a);
  if (!data.ok()) return EvalFail(data.status());
  ModelOptions mo;
  mo.model = a.model;
  mo.threads = a.threads;
  mo.ctx = a.ctx;
  mo.lora = a.lora;
  std::unique_ptr<Engine> engine = OpenEngineOrReport("odlm eval", mo);
  if (!engine) return kExitFailure;
  const Tokenizer& tok = engine->tokenizer();
  const int64_t trained = engine->config().n_ctx_train;
  if (engine->n_ctx() <= a.max_tokens + 1) {
    std::fprintf(stderr,
                 "odlm eval: the context (%lld tokens) leaves no room for a prompt and "
                 "--max-tokens %d; give a larger -c\n",
                 static_cast<long long>(engine->n_ctx()), a.max_tokens);
    return kExitUsage;
  }
  // (The engine itself warns when -c goes beyond the trained length; the line below says it in
  // eval's terms.)
  const bool beyond = trained > 0 && engine->n_ctx() > trained;
  std::string why = a.ctx > 0 ? "-c" : "the model's trained context";
  if (beyond) {
    why += "; beyond the " + std::to_string(trained) +
           " tokens the model was trained on, answers are unreliable: leave -c out to use its own";
  }
  std::fprintf(stderr,
               "odlm eval: %scontext %lld tokens (%s); a prompt longer than %lld tokens loses its "
               "oldest history first, then the beginning of its document (docs/EVAL.md)\n",
               beyond ? "warning: " : "", static_cast<long long>(engine->n_ctx()), why.c_str(),
               static_cast<long long>(engine->n_ctx() - a.max_tokens - 1));
  GenerateOptions gen;  // greedy
  gen.max_tokens = a.max_tokens;
  gen.stop = {"[/AGENT]", "[USER]"};
  FitCounts fit;
  int64_t questions = 0, answer_tokens = 0;
  const int64_t t0 = MonotonicNanos();
  Status answer_error;
  eval::Answerer answerer = [&](const std::vector<eval::QaPrompt>& prompts) {
    std::vector<std::vector<int32_t>> ids;
    std::vector<std::string> answers(prompts.size());
    // Room for the prompt: the context less the answer and one token of slack.
    const size_t limit = static_cast<size_t>(engine->n_ctx() - a.max_tokens - 1);
    for (const auto& p : prompts) {
      if (a.show_prompts) std::fprintf(stderr, "%s\n", p.text.c_str());
      // Dataset text is plain text: EncodeChat parses special tokens in the template only.
      auto encoded = FitPrompt(tok, p.messages, limit, &fit);
      if (!encoded.ok()) {
        answer_error = encoded.status();
        return std::vector<std::string>();  // no answers: the run stops
      }
      ids.push_back(std::move(encoded).value());
    }
    auto results = GenerateBatch(*engine, ids, gen);
    if (!results.ok()) {
      answer_error = results.status();
      return std::vector<std::string>();
    }
    for (size_t i = 0; i < results->size(); ++i) {
      answers[i] = (*results)[i].text;
      answer_tokens += static_cast<int64_t>((*results)[i].tokens.size());
    }
    questions += static_cast<int64_t>(prompts.size());
    return answers;
  };
  if (Status s = RunQaAndWrite(*data, a, answerer, answer_error); !s.ok()) return EvalFail(s);
  const double secs = (MonotonicNanos() - t0) / 1e9;
  std::fprintf(stderr,
               "odlm eval: %lld questions answered (%s history) in %.1f s, %lld answer tokens; "
               "to fit the %lld-token context, %lld prompts lost history (%lld exchanges), "
               "%lld lost the beginning of their document, %lld were cut token-wise; wrote %s\n",
               static_cast<long long>(questions), a.history.c_str(), secs,
               static_cast<long long>(answer_tokens), static_cast<long long>(engine->n_ctx()),
               static_cast<long long>(fit.history_shortened),
               static_cast<long long>(fit.exchanges_dropped),
               static_cast<long long>(fit.document_cut), static_cast<long long>(fit.hard_cut),
               a.out.c_str());
  return kExitOk;
}

}  // namespace odlm::cli
