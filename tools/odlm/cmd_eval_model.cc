// tools/odlm/cmd_eval_model.cc — the model-running half of `odlm eval` (see eval_model.h).
// Registers no command of its own: cmd_eval.cc adds the coqa / quac subcommands.
#include <algorithm>
#include <cstdio>

#include "command.h"
#include "common_options.h"
#include "eval/conversational_run.h"
#include "eval_model.h"
#include "platform/file_util.h"
#include "platform/process_stats.h"
#include "tokenizer/chat_template.h"

namespace odlm::cli {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "odlm eval: %s\n", s.ToString().c_str());
  return kExitFailure;
}

}  // namespace

int RunEvalModel(const EvalModelArgs& a) {
  if (a.history != "gold" && a.history != "pred") {
    std::fprintf(stderr, "odlm eval: --history must be gold or pred\n");
    return kExitUsage;
  }
  if (a.max_batch < 1 || a.max_tokens < 1) {
    std::fprintf(stderr, "odlm eval: --max-batch and --max-tokens must be >= 1\n");
    return kExitUsage;
  }
  eval::CoqaDataset coqa;
  eval::QuacDataset quac;
  if (a.task == "coqa") {
    auto d = eval::LoadCoqaDataset(a.data);
    if (!d.ok()) return Fail(d.status());
    coqa = std::move(d).value();
  } else {
    auto d = eval::LoadQuacDataset(a.data);
    if (!d.ok()) return Fail(d.status());
    quac = std::move(d).value();
  }
  ModelOptions mo;
  mo.model = a.model;
  mo.threads = a.threads;
  mo.ctx = a.ctx;
  mo.lora = a.lora;
  std::unique_ptr<Engine> engine = OpenEngineOrReport("odlm eval", mo);
  if (!engine) return kExitFailure;
  const Tokenizer& tok = engine->tokenizer();
  GenerateOptions gen;  // greedy
  gen.max_tokens = a.max_tokens;
  gen.stop = {"[/AGENT]", "[USER]"};
  int64_t truncated = 0, questions = 0, answer_tokens = 0;
  const int64_t t0 = MonotonicNanos();
  Status answer_error;
  eval::Answerer answerer = [&](const std::vector<eval::QaPrompt>& prompts) {
    std::vector<std::vector<int32_t>> ids;
    std::vector<std::string> answers(prompts.size());
    // Keep BOS and the end of the prompt (question and recent history) when a long document
    // does not fit: the left of the CONTEXT block is what gets cut.
    const size_t limit = static_cast<size_t>(engine->n_ctx() - a.max_tokens - 1);
    for (const auto& p : prompts) {
      // Dataset text is plain text: EncodeChat parses special tokens in the template only.
      auto encoded = EncodeChat(tok, "codi", p.messages, /*add_generation_prompt=*/true);
      if (!encoded.ok()) {
        answer_error = encoded.status();
        return answers;
      }
      std::vector<int32_t> t = std::move(encoded).value();
      if (t.size() > limit) {
        const size_t keep_head = tok.add_bos() ? 1 : 0;
        t.erase(t.begin() + keep_head, t.end() - (limit - keep_head));
        ++truncated;
      }
      ids.push_back(std::move(t));
    }
    auto results = GenerateBatch(*engine, ids, gen);
    if (!results.ok()) {
      answer_error = results.status();
      return answers;
    }
    for (size_t i = 0; i < results->size(); ++i) {
      answers[i] = (*results)[i].text;
      answer_tokens += static_cast<int64_t>((*results)[i].tokens.size());
    }
    questions += static_cast<int64_t>(prompts.size());
    return answers;
  };
  eval::RunOptions ro;
  ro.history = a.history == "gold" ? eval::HistoryMode::kGold : eval::HistoryMode::kPred;
  ro.max_batch = static_cast<size_t>(a.max_batch);
  std::string out_text;
  if (a.task == "coqa") {
    auto preds = eval::RunCoqa(coqa, answerer, ro);
    if (!answer_error.ok()) return Fail(answer_error);
    if (!preds.ok()) return Fail(preds.status());
    out_text = eval::CoqaPredictionsToJson(*preds);
  } else {
    auto preds = eval::RunQuac(quac, answerer, ro);
    if (!answer_error.ok()) return Fail(answer_error);
    if (!preds.ok()) return Fail(preds.status());
    out_text = eval::QuacPredictionsToJsonLines(*preds);
  }
  if (Status s = WriteFileAtomically(a.out, out_text); !s.ok()) return Fail(s);
  const double secs = (MonotonicNanos() - t0) / 1e9;
  std::fprintf(stderr,
               "odlm eval: %lld questions answered (%s history) in %.1f s, %lld answer tokens; "
               "%lld prompts truncated to the %lld-token context; wrote %s\n",
               static_cast<long long>(questions), a.history.c_str(), secs,
               static_cast<long long>(answer_tokens), static_cast<long long>(truncated),
               static_cast<long long>(engine->n_ctx()), a.out.c_str());
  return kExitOk;
}

}  // namespace odlm::cli
