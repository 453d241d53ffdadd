// tools/odlm/cmd_bench_speculative.cc — `odlm bench-speculative` (also `odlm bench
// --speculative`): single-stream greedy decode speed with and without speculative decoding on
// grounded-QA prompts (a document and a question about it, through the chat template), and on
// the same questions without the document (closed book: the answer cannot be copied, so most
// drafts are rejected — the cost of trying). Checks that both runs give the same tokens.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "chat_options.h"
#include "command.h"
#include "common_options.h"
#include "speculative_options.h"

namespace odlm::cli {
namespace {

struct Prompt {
  std::string label;
  std::vector<int32_t> tokens;
};

// Questions of `document`: the lines of its sibling NAME.questions.txt (NAME.txt's questions).
StatusOr<std::vector<std::string>> ReadQuestions(const std::string& document) {
  std::filesystem::path p(document);
  p.replace_extension(".questions.txt");
  std::ifstream in(p);
  if (!in) {
    return NotFoundError("no questions for " + document + ": expected one per line in " +
                         p.string());
  }
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  if (out.empty()) return InvalidArgumentError(p.string() + " has no questions");
  return out;
}

// Sums over one pass of every prompt: decode tokens and time, drafting counts, identity.
struct Totals {
  double plain_ms = 0, spec_ms = 0;
  int64_t plain_tokens = 0, spec_tokens = 0;
  SpeculativeStats stats;
  int identical = 0, prompts = 0;
};

struct Series {
  std::vector<double> plain_tps, spec_tps;
  Totals last;
  nlohmann::json Json() const {
    const double plain = Median(plain_tps), spec = Median(spec_tps);
    return {{"plain_decode_tok_s", plain},
            {"speculative_decode_tok_s", spec},
            {"speedup", plain > 0 ? spec / plain : 0.0},
            {"acceptance_rate", last.stats.acceptance_rate()},
            {"tokens_per_pass", last.stats.tokens_per_pass()},
            {"drafted", last.stats.drafted},
            {"accepted", last.stats.accepted},
            {"lookup_drafts", last.stats.lookup_drafts},
            {"model_drafts", last.stats.model_drafts},
            {"draft_passes", last.stats.draft_passes},
            {"generated_tokens", last.spec_tokens},
            {"prompts", last.prompts},
            {"identical_outputs", last.identical}};
  }
};

// One repetition over `prompts`: plain then speculative for each prompt (interleaved, so load
// changes hit both alike), each on a fresh session. Returns false (message printed) on an error.
bool RunOnce(const char* prog, Engine& engine, const std::vector<Prompt>& prompts,
             const GenerateOptions& plain, const GenerateOptions& spec, Totals* t) {
  for (const Prompt& p : prompts) {
    auto s1 = engine.NewSession();
    auto a = Generate(engine, *s1, p.tokens, plain, nullptr);
    auto s2 = engine.NewSession();
    auto b = Generate(engine, *s2, p.tokens, spec, nullptr);
    if (!a.ok() || !b.ok()) {
      std::fprintf(stderr, "%s: %s: %s\n", prog, p.label.c_str(),
                   (a.ok() ? b.status() : a.status()).ToString().c_str());
      return false;
    }
    t->plain_ms += a->decode_ms;
    t->spec_ms += b->decode_ms;
    t->plain_tokens += a->speculative.pass_tokens;
    t->spec_tokens += b->speculative.pass_tokens;
    t->stats += b->speculative;
    ++t->prompts;
    if (a->tokens == b->tokens) {
      ++t->identical;
    } else {
      std::fprintf(stderr, "%s: %s: the speculative output differs from the plain one\n", prog,
                   p.label.c_str());
    }
  }
  return true;
}

int RunBenchSpeculative(int argc, char** argv) {
  CLI::App app(
      "Single-stream greedy decode speed with and without speculative decoding (medians over "
      "repetitions) on grounded-QA prompts — each document with each question of its "
      "NAME.questions.txt, through the chat template — and on the same questions without the "
      "document (closed book: little to copy, so drafts are mostly rejected). Also reports the "
      "acceptance rate, tokens per forward pass, and whether the outputs were identical.",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm bench-speculative --lookup-ngram 3 --document "
      "examples/documents/zeivar-river.txt -r 3\n"
      "  odlm bench --speculative -m models/odlm-grounded-qa.gguf --draft-model small.gguf \\\n"
      "      --document examples/documents/lighthouse.txt --json");
  ModelOptions model;
  SpeculativeCliOptions speculative;
  std::vector<std::string> documents;
  std::string chat_template;
  int32_t n_predict = 64;
  int reps = 3;
  bool json = false, no_closed_book = false;
  AddModelOptions(app, &model);
  AddSpeculativeOptions(app, &speculative);
  app.add_option("--document", documents,
                 "a grounding document NAME.txt with its questions in NAME.questions.txt "
                 "(repeatable; default examples/documents/zeivar-river.txt)");
  app.add_option("--chat-template", chat_template, "chat template (default: the model's own)");
  app.add_option("-n,--n-predict", n_predict, "tokens per answer at most (EOS ends one)")
      ->check(CLI::Range(2, 4096))
      ->capture_default_str();
  app.add_option("-r,--repetitions", reps, "repetitions (medians are reported)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_flag("--no-closed-book", no_closed_book, "skip the questions without their documents");
  app.add_flag("--json", json, "print one JSON object");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  if (!speculative.requested()) {
    std::fprintf(stderr, "%s: name a drafter: --lookup-ngram N and/or --draft-model FILE\n",
                 argv[0]);
    return kExitUsage;
  }
  if (documents.empty()) documents.push_back("examples/documents/zeivar-river.txt");
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  std::unique_ptr<Engine> draft_engine;
  GenerateOptions spec;
  spec.sampling = SamplingParams::Greedy();
  spec.max_tokens = n_predict;
  if (!SetUpSpeculative(argv[0], speculative, model, *engine, &draft_engine, &spec.speculative)) {
    return kExitFailure;
  }
  SpeculativeTuning tuning;  // learned over all prompts, as a chat or a server would
  spec.speculative.tuning = &tuning;
  GenerateOptions plain = spec;
  plain.speculative = SpeculativeOptions();
  StatusOr<std::string> tmpl = ResolveChatTemplate(argv[0], engine->tokenizer(), chat_template);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], tmpl.status().message().c_str());
    return kExitUsage;
  }
  std::vector<Prompt> grounded, closed;
  for (const std::string& doc : documents) {
    auto context = ReadContextMessages({doc});
    auto questions = context.ok() ? ReadQuestions(doc) : context.status();
    if (!questions.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], questions.status().message().c_str());
      return kExitUsage;
    }
    for (const std::string& q : *questions) {
      for (bool with_doc : {true, false}) {
        std::vector<ChatMessage> messages = with_doc ? *context : std::vector<ChatMessage>();
        messages.push_back({"user", q});
        auto tokens = EncodeChat(engine->tokenizer(), *tmpl, messages, true);
        if (!tokens.ok()) {
          std::fprintf(stderr, "%s: %s\n", argv[0], tokens.status().ToString().c_str());
          return kExitFailure;
        }
        (with_doc ? grounded : closed).push_back({doc + ": " + q, std::move(tokens).value()});
      }
    }
  }
  if (no_closed_book) closed.clear();
  // Warm-up: touch the weights (and the draft model's) once.
  Totals warm;
  if (!RunOnce(argv[0], *engine, {grounded.front()}, plain, spec, &warm)) return kExitFailure;
  Series g, c;
  for (int r = 0; r < reps; ++r) {
    for (auto [series, prompts] : {std::pair{&g, &grounded}, std::pair{&c, &closed}}) {
      if (prompts->empty()) continue;
      Totals t;
      if (!RunOnce(argv[0], *engine, *prompts, plain, spec, &t)) return kExitFailure;
      series->plain_tps.push_back(t.plain_tokens * 1000.0 / std::max(1e-9, t.plain_ms));
      series->spec_tps.push_back(t.spec_tokens * 1000.0 / std::max(1e-9, t.spec_ms));
      series->last = t;
    }
  }
  nlohmann::json j = {
      {"model", model.model.empty() ? std::string("default") : model.model},
      {"draft_model", speculative.draft_model},
      {"lookup_ngram", speculative.lookup_ngram},
      {"lookup_ngram_min", spec.speculative.lookup_ngram_min},
      {"draft_max", speculative.draft_max},
      {"draft_p_min", speculative.draft_p_min},
      {"adaptive", !speculative.fixed_length},
      {"pass_cost_2", tuning.PassCost(2)},
      {"pass_cost_5", tuning.PassCost(5)},
      {"draft_token_cost", tuning.draft_token_cost},
      {"threads", engine->pool()->num_threads()},
      {"n_predict", n_predict},
      {"repetitions", reps},
      {"documents", documents},
      {"grounded", g.Json()},
  };
  if (!closed.empty()) j["closed_book"] = c.Json();
  if (json) {
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::printf("model        %s\n", engine->Describe().c_str());
  if (draft_engine) std::printf("draft model  %s\n", draft_engine->Describe().c_str());
  std::printf(
      "drafting     lookup n-gram %d..%d, draft model %s, at most %d per pass (%s); "
      "measured cost of a 2-token pass %.2f, a 5-token pass %.2f, a draft-model pass %.2f "
      "(one-token passes)\n",
      speculative.lookup_ngram, spec.speculative.lookup_ngram_min,
      speculative.draft_model.empty() ? "none" : speculative.draft_model.c_str(),
      speculative.draft_max, speculative.fixed_length ? "fixed" : "adaptive", tuning.PassCost(2),
      tuning.PassCost(5), tuning.draft_token_cost);
  for (auto [name, s] : {std::pair{"grounded", &g}, std::pair{"closed book", &c}}) {
    if (s->plain_tps.empty()) continue;
    const nlohmann::json sj = s->Json();
    std::printf(
        "%-12s %d prompts: plain %.2f tok/s, speculative %.2f tok/s (x%.3f, median of %d); "
        "acceptance %.1f%%, %.2f tokens per pass; identical outputs %d/%d\n",
        name, s->last.prompts, sj["plain_decode_tok_s"].get<double>(),
        sj["speculative_decode_tok_s"].get<double>(), sj["speedup"].get<double>(), reps,
        100.0 * s->last.stats.acceptance_rate(), s->last.stats.tokens_per_pass(), s->last.identical,
        s->last.prompts);
  }
  return kExitOk;
}

ODLM_COMMAND("bench-speculative",
             "decode speed with and without speculative decoding on grounded-QA prompts",
             RunBenchSpeculative);

}  // namespace
}  // namespace odlm::cli
