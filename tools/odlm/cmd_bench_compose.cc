// tools/odlm/cmd_bench_compose.cc — `odlm bench-compose`: latency of a composite task run
// two-pass vs with a merged adapter vs the plain base model, on the same prompt (medians).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common_options.h"
#include "compose_options.h"
#include "platform/process_stats.h"
#include "random_adapters.h"

namespace odlm::cli {
namespace {

struct Timings {
  std::vector<double> total_ms, prefill_ms, decode_ms;
  int64_t tokens = 0;  // generated, all passes (the same every repetition: EOS is ignored)
  void Add(double total, double prefill, double decode) {
    total_ms.push_back(total);
    prefill_ms.push_back(prefill);
    decode_ms.push_back(decode);
  }
  nlohmann::json Json() const {
    return {{"total_ms", Median(total_ms)},
            {"prefill_ms", Median(prefill_ms)},
            {"decode_ms", Median(decode_ms)},
            {"generated_tokens", tokens}};
  }
};

int RunBenchCompose(int argc, char** argv) {
  CLI::App app(
      "Latency of a composite task: two-pass (one generation per stage) vs merged (one "
      "generation with the stages' adapters merged) vs the base model alone, on the same "
      "prompt; greedy, EOS ignored so every run generates the same number of tokens per pass; "
      "medians over repetitions (each on a fresh session: no prefix reuse).\n\n"
      "example:\n"
      "  odlm bench-compose -m tinyllama-q4_0.gguf --lora sum=sum.gguf --lora fr=fr.gguf "
      "--compose sum,fr -n 32 -r 5",
      argv[0]);
  ModelOptions model;
  ComposeCliOptions compose;
  std::string prompt =
      "The committee met on Tuesday to review the budget for the coming year. After a long "
      "discussion of the costs of the new library wing, the members agreed to postpone the "
      "decision until the architects deliver a revised estimate in the spring.";
  int32_t n_predict = 32;
  int reps = 5;
  bool json = false;
  RandomLoraOptions random;
  AddModelOptions(app, &model);
  AddRandomLoraOptions(app, &random);
  AddComposeOptions(app, &compose, /*required=*/true);
  app.add_option("-p,--prompt", prompt, "the composite's prompt (default: a 50-word paragraph)");
  app.add_option("-n,--n-predict", n_predict, "tokens each pass generates")
      ->check(CLI::Range(1, 4096));
  app.add_option("-r,--reps", reps, "repetitions (after one warm-up)")->check(CLI::Range(1, 1000));
  app.add_flag("--json", json, "print one JSON object");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;

  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  if (!RegisterRandomAdapters(argv[0], random, engine.get())) return kExitFailure;
  ComposeSpec two_pass;
  std::string error;
  if (!BuildComposeSpec(compose, *engine, &two_pass, &error)) {
    std::fprintf(stderr, "%s: %s\n", argv[0], error.c_str());
    return kExitUsage;
  }
  two_pass.mode = ComposeMode::kTwoPass;
  ComposeSpec merged = two_pass;
  merged.mode = ComposeMode::kMerged;
  GenerateOptions gen;
  gen.max_tokens = n_predict;
  gen.stop_at_end_of_generation = false;
  const Tokenizer& tok = engine->tokenizer();
  const std::vector<int32_t> tokens = tok.Encode(prompt, tok.add_bos(), false);

  MergedAdapterCache cache;
  double merge_build_ms = 0;
  Timings base, two, one;
  for (int rep = -1; rep < reps; ++rep) {  // rep -1: warm-up (and the merge is built there)
    auto s = engine->NewSession();
    if (Status st = engine->SetAdapters(*s, {}); !st.ok()) return kExitFailure;
    const int64_t t0 = MonotonicNanos();
    auto g = Generate(*engine, *s, tokens, gen, nullptr);
    const double base_ms = (MonotonicNanos() - t0) / 1e6;
    if (!g.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], g.status().ToString().c_str());
      return kExitFailure;
    }
    auto t = RunComposite(*engine, *engine->NewSession(), prompt, two_pass, gen, &cache, nullptr);
    auto m = RunComposite(*engine, *engine->NewSession(), prompt, merged, gen, &cache, nullptr);
    for (const auto* r : {&t, &m}) {
      if (!r->ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[0], r->status().ToString().c_str());
        return kExitFailure;
      }
    }
    if (rep < 0) {
      merge_build_ms = m->merge_ms;
      continue;
    }
    base.Add(base_ms, g->prefill_ms, g->decode_ms);
    base.tokens = static_cast<int64_t>(g->tokens.size());
    for (auto [r, out] : {std::pair{&*t, &two}, std::pair{&*m, &one}}) {
      double prefill = 0, decode = 0;
      for (const ComposeStageResult& st : r->stages) {
        prefill += st.result.prefill_ms;
        decode += st.result.decode_ms;
      }
      out->Add(r->total_ms, prefill, decode);
      out->tokens = r->completion_tokens();
    }
  }
  nlohmann::json j = {{"model", engine->options().model_path},
                      {"compose", compose.compose},
                      {"prompt_tokens", tokens.size()},
                      {"n_predict", n_predict},
                      {"reps", reps},
                      {"threads", engine->pool()->num_threads()},
                      {"merge_method", compose.merge_method},
                      {"merge_build_ms", merge_build_ms},
                      {"base", base.Json()},
                      {"two_pass", two.Json()},
                      {"merged", one.Json()}};
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("composite %s, prompt %zu tokens, %d tokens per pass, %d threads, median of %d\n",
              compose.compose.c_str(), tokens.size(), n_predict, engine->pool()->num_threads(),
              reps);
  std::printf("%-10s %10s %10s %10s %8s %8s\n", "mode", "total ms", "prefill", "decode", "tokens",
              "vs base");
  const double b = Median(base.total_ms);
  for (auto [name, t] :
       {std::pair{"base", &base}, std::pair{"two-pass", &two}, std::pair{"merged", &one}}) {
    const double total = Median(t->total_ms);
    std::printf("%-10s %10.1f %10.1f %10.1f %8lld %7.2fx\n", name, total, Median(t->prefill_ms),
                Median(t->decode_ms), static_cast<long long>(t->tokens), b > 0 ? total / b : 0.0);
  }
  std::printf("merge built once in %.1f ms (%s), then cached\n", merge_build_ms,
              compose.merge_method.c_str());
  return kExitOk;
}

ODLM_COMMAND("bench-compose",
             "latency of a composite task: two-pass vs merged adapter vs the base model",
             RunBenchCompose);

}  // namespace
}  // namespace odlm::cli
