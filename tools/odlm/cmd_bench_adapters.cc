// tools/odlm/cmd_bench_adapters.cc — `odlm bench-adapters`: the cost of unmerged LoRA adapters.
// Single-sequence decode with 0, 1 and all registered adapters active, and batched decode of B
// sequences with no adapter, all on one adapter, and mixed (sequence i on adapter i mod n). The
// configurations are interleaved within each repetition, so that the machine's load drifts over
// all of them alike; medians are reported.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "command.h"
#include "common_options.h"
#include "platform/process_stats.h"
#include "random_adapters.h"

namespace odlm::cli {
namespace {

int32_t Argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Prefills `prompt` into one session per adapter set, then decodes `n_gen` greedy steps for all
// of them together (one EvalBatch per step). Returns decode tokens per second (all sequences).
StatusOr<double> DecodeBatch(Engine& engine, const std::vector<std::vector<AdapterChoice>>& sets,
                             const std::vector<int32_t>& prompt, int n_gen) {
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<int32_t> next;
  for (const auto& set : sets) {
    sessions.push_back(engine.NewSession());
    RETURN_IF_ERROR(engine.SetAdapters(*sessions.back(), set));
    std::vector<float> logits;
    RETURN_IF_ERROR(engine.Eval(*sessions.back(), prompt, false, &logits));
    next.push_back(Argmax(logits));
  }
  std::vector<std::vector<float>> logits;
  const int64_t t0 = MonotonicNanos();
  for (int step = 0; step < n_gen; ++step) {
    std::vector<Engine::BatchItem> items;
    for (size_t i = 0; i < sessions.size(); ++i) {
      items.push_back({sessions[i].get(), std::span<const int32_t>(&next[i], 1)});
    }
    RETURN_IF_ERROR(engine.EvalBatch(items, &logits));
    for (size_t i = 0; i < sessions.size(); ++i) next[i] = Argmax(logits[i]);
  }
  const double s = (MonotonicNanos() - t0) / 1e9;
  return static_cast<double>(n_gen) * static_cast<double>(sets.size()) / s;
}

int RunBenchAdapters(int argc, char** argv) {
  CLI::App app(
      "Decode speed with LoRA adapters applied unmerged: one sequence with 0, 1 and all the "
      "--lora adapters active, and a batch of B sequences with none, all on one adapter, and "
      "mixed adapters (sequence i on adapter i mod n). Medians over repetitions.\n\n"
      "example:\n"
      "  odlm bench-adapters -m tinyllama-q4_0.gguf --lora a.gguf --lora b.gguf --lora c.gguf "
      "-b 4 -n 32 -r 5",
      argv[0]);
  ModelOptions model;
  int n_prompt = 32, n_gen = 32, batch = 4, reps = 5;
  bool json = false;
  RandomLoraOptions random;
  AddModelOptions(app, &model);
  AddRandomLoraOptions(app, &random);
  app.add_option("-p,--n-prompt", n_prompt, "prompt tokens per sequence (not timed)")
      ->check(CLI::Range(1, 1 << 14));
  app.add_option("-n,--n-gen", n_gen, "decode steps")->check(CLI::Range(1, 1 << 14));
  app.add_option("-b,--batch", batch, "sequences of the batched runs")->check(CLI::Range(1, 256));
  app.add_option("-r,--repetitions", reps, "repetitions (medians)")->check(CLI::Range(1, 100));
  app.add_flag("--json", json, "print one JSON object");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  if (model.lora.empty() && !random.ok()) {
    std::fprintf(stderr, "%s: give at least one --lora adapter (or --random-lora N)\n", argv[0]);
    return kExitUsage;
  }
  if (model.ctx == 0) model.ctx = n_prompt + n_gen + 1;
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  if (!RegisterRandomAdapters(argv[0], random, engine.get())) return kExitFailure;
  // Every adapter, in the order given (--lora first, at their scales; random ones at 1).
  std::vector<AdapterChoice> all = engine->default_adapters();
  for (int k = 1; k <= random.count; ++k) all.push_back({"rand" + std::to_string(k), 1.0f});
  std::mt19937 rng(1234);
  std::vector<int32_t> prompt(n_prompt);
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % engine->config().n_vocab);

  // Configurations: name → one adapter set per sequence.
  std::vector<std::pair<std::string, std::vector<std::vector<AdapterChoice>>>> configs = {
      {"single, 0 adapters", {{}}},
      {"single, 1 adapter", {{all[0]}}},
      {"single, " + std::to_string(all.size()) + " adapters", {all}},
  };
  std::vector<std::vector<AdapterChoice>> none(batch), same(batch), mixed(batch);
  for (int i = 0; i < batch; ++i) {
    same[i] = {all[0]};
    mixed[i] = {all[i % all.size()]};
  }
  const std::string b = "batch " + std::to_string(batch);
  configs.push_back({b + ", no adapter", none});
  configs.push_back({b + ", one adapter", same});
  configs.push_back({b + ", mixed adapters", mixed});

  std::vector<std::vector<double>> tps(configs.size());
  for (int r = -1; r < reps; ++r) {  // r -1: warm-up
    for (size_t c = 0; c < configs.size(); ++c) {
      auto v = DecodeBatch(*engine, configs[c].second, prompt, n_gen);
      if (!v.ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[0], v.status().ToString().c_str());
        return kExitFailure;
      }
      if (r >= 0) tps[c].push_back(*v);
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  for (size_t c = 0; c < configs.size(); ++c) {
    const double base = Median(tps[c < 3 ? 0 : 3]);
    rows.push_back({{"config", configs[c].first},
                    {"decode_tok_s", Median(tps[c])},
                    {"vs_no_adapter", base > 0 ? Median(tps[c]) / base : 0.0}});
  }
  if (json) {
    nlohmann::json j = {{"model", engine->options().model_path},
                        {"adapters", all.size()},
                        {"adapter", engine->ListAdapters()[0].description},
                        {"n_prompt", n_prompt},
                        {"n_gen", n_gen},
                        {"batch", batch},
                        {"reps", reps},
                        {"threads", engine->pool()->num_threads()},
                        {"results", rows}};
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("decode, %d steps after a %d-token prompt, %d threads, median of %d\n", n_gen,
              n_prompt, engine->pool()->num_threads(), reps);
  for (const auto& row : rows) {
    std::printf("%-28s %10.1f tok/s  %5.2fx\n", row["config"].get<std::string>().c_str(),
                row["decode_tok_s"].get<double>(), row["vs_no_adapter"].get<double>());
  }
  return kExitOk;
}

ODLM_COMMAND("bench-adapters", "decode speed with 0/1/n LoRA adapters and batches mixing adapters",
             RunBenchAdapters);

}  // namespace
}  // namespace odlm::cli
