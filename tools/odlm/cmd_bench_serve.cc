// tools/odlm/cmd_bench_serve.cc — `odlm bench-serve`: throughput and time to first token of the
// HTTP service under 1, 4, 16 … concurrent streaming clients.
//
// Runs the service in-process on a free loopback port and drives it over HTTP like real apps:
// each client streams POST /v1/completions with a prompt of --prompt distinct random token ids
// (so no prefix is shared) and --gen generated tokens (ignore_eos, so every request generates all
// of them). Reports per concurrency level: aggregate generated tokens/s (all completion tokens /
// wall time of the level), and p50 / p99 time to first token measured by the client.
//
// Also per level, the decode-phase rate S_TG as llama.cpp's batched-bench reports it: tokens
// sampled in decode-only scheduler steps / the wall time of those steps (prefill excluded), the
// share of that time spent in Engine::EvalBatch, and (unless --no-engine-baseline) the engine's
// own batched decode of as many sequences, without HTTP or scheduler, for comparison.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "command.h"
#include "common_options.h"
#include "server/http_server.h"
#include "server/service.h"
#include "server/sse.h"

namespace odlm::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The engine's own batched decode: `n` sessions with a `prompt`-token prompt each (prefilled in
// one batch, not timed), then `gen` steps of one EvalBatch over all of them (greedy). Returns
// generated tokens / seconds of the decode steps, or a negative value on an engine error.
double EngineBatchedDecode(Engine& engine, int n, int prompt, int gen, std::mt19937* rng) {
  const int32_t n_vocab = engine.tokenizer().n_vocab();
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<std::vector<int32_t>> prompts(n);
  std::vector<int32_t> next(n);
  std::vector<Engine::BatchItem> items;
  for (int i = 0; i < n; ++i) {
    sessions.push_back(engine.NewSession());
    for (int k = 0; k < prompt; ++k) {
      prompts[i].push_back(static_cast<int32_t>((*rng)() % (n_vocab - 4)) + 3);
    }
    items.push_back({sessions[i].get(), prompts[i]});
  }
  std::vector<std::vector<float>> logits;
  if (!engine.EvalBatch(items, &logits).ok()) return -1;
  const auto t0 = Clock::now();
  for (int step = 0; step < gen; ++step) {
    for (int i = 0; i < n; ++i) {
      next[i] = static_cast<int32_t>(std::max_element(logits[i].begin(), logits[i].end()) -
                                     logits[i].begin());
      items[i] = {sessions[i].get(), std::span<const int32_t>(&next[i], 1)};
    }
    if (!engine.EvalBatch(items, &logits).ok()) return -1;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return static_cast<double>(n) * gen / seconds;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

int RunBenchServe(int argc, char** argv) {
  CLI::App app(
      "Benchmark odlm serve: aggregate tok/s and time to first token under concurrency. Runs the "
      "service in this process on a free loopback port (nothing else to start) and drives it "
      "with streaming /v1/completions clients.",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm bench-serve --streams 1 4 --prompt 32 --gen 8 --rounds 1   # the default model\n"
      "  odlm gen-model -o tl-q4_0.gguf --preset tinyllama-1.1b --type q4_0\n"
      "  odlm bench-serve -m tl-q4_0.gguf --no-mmap -t 2                 # docs/PERFORMANCE.md\n"
      "\n"
      "Columns: e2e t/s = all generated tokens / wall time of the level; S_TG t/s = tokens of\n"
      "decode-only steps / their time (llama.cpp batched-bench's S_TG); width = sequences per\n"
      "decode step; engine S_TG = Engine::EvalBatch alone at that width; TTFT as the client saw "
      "it.");
  ModelOptions model;
  AddModelOptions(app, &model);
  std::vector<int> levels = {1, 4, 16};
  int prompt_tokens = 128, gen_tokens = 32, rounds = 2, parallel = 16, prefill_slice = 64;
  app.add_option("--streams", levels, "concurrency levels")->capture_default_str();
  app.add_option("--prompt", prompt_tokens, "prompt tokens per request")->capture_default_str();
  app.add_option("--gen", gen_tokens, "generated tokens per request")->capture_default_str();
  app.add_option("--rounds", rounds, "requests per client at each level")->capture_default_str();
  app.add_option("--parallel", parallel, "service's decode batch width")->capture_default_str();
  app.add_option("--prefill-slice", prefill_slice, "service's prefill slice")
      ->capture_default_str();
  bool no_baseline = false;
  int baseline_prompt = 0;
  app.add_flag("--no-engine-baseline", no_baseline,
               "skip the engine's own batched decode at each level");
  app.add_option("--baseline-prompt", baseline_prompt,
                 "prompt tokens per sequence of the engine baseline, not timed (0: --prompt)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  if (baseline_prompt == 0) baseline_prompt = prompt_tokens;

  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  server::ServiceOptions so;
  so.model_id = "bench";
  so.scheduler.max_active = parallel;
  so.scheduler.max_queue = 1024;
  so.scheduler.prefill_slice = prefill_slice;
  so.local_limits.max_in_flight = 0;
  so.local_limits.max_contexts = 0;
  auto service = server::Service::Create(engine.get(), so, nullptr);
  if (!service.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], service.status().ToString().c_str());
    return kExitFailure;
  }
  server::HttpOptions ho;
  ho.port = 0;
  ho.handler_threads = 2 * *std::max_element(levels.begin(), levels.end()) + 8;
  server::HttpServer http(service->get(), ho);
  if (Status st = http.Bind(); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], st.ToString().c_str());
    return kExitFailure;
  }
  std::thread runner([&] { http.Run(); });
  while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  std::printf("model: %s\n", engine->Describe().c_str());
  std::printf("requests: %d-token prompts (distinct), %d generated, %d per client per level\n",
              prompt_tokens, gen_tokens, rounds);
  std::printf(
      "e2e t/s: all generated tokens / wall time. S_TG t/s: decode-phase rate (tokens of\n"
      "decode-only steps / their time, prefill excluded; llama.cpp batched-bench's S_TG), eval\n"
      "%%: its share in the forward pass. engine S_TG: EvalBatch alone, same batch width.\n");
  std::printf("%8s %9s %9s %10s %7s %6s %11s %12s %12s\n", "streams", "requests", "e2e t/s",
              "S_TG t/s", "eval %", "width", "engine S_TG", "TTFT p50 ms", "TTFT p99 ms");
  const int32_t n_vocab = engine->tokenizer().n_vocab();
  std::mt19937 rng(42);
  bool all_ok = true;
  for (int streams : levels) {
    std::vector<std::string> bodies(static_cast<size_t>(streams) * rounds);
    for (auto& b : bodies) {
      std::vector<int32_t> ids(prompt_tokens);
      for (auto& t : ids) t = static_cast<int32_t>(rng() % (n_vocab - 4)) + 3;
      b = nlohmann::json{{"prompt", ids},
                         {"max_tokens", gen_tokens},
                         {"temperature", 0},
                         {"ignore_eos", true},
                         {"stream", true}}
              .dump();
    }
    std::vector<double> ttft_ms(bodies.size(), 0);
    const server::Scheduler::DecodeStats d0 = (*service)->scheduler().decode_stats();
    std::atomic<int64_t> tokens{0};
    std::atomic<int> failures{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < streams; ++c) {
      clients.emplace_back([&, c] {
        httplib::Client client("127.0.0.1", http.port());
        client.set_read_timeout(600, 0);
        for (int r = 0; r < rounds; ++r) {
          const size_t k = static_cast<size_t>(c) * rounds + r;
          server::SseParser parser;
          httplib::Request req;
          req.method = "POST";
          req.path = "/v1/completions";
          req.body = bodies[k];
          req.set_header("Content-Type", "application/json");
          const auto start = Clock::now();
          bool first = true;
          bool done = false;
          req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
            for (const auto& e : parser.Feed(std::string_view(d, n))) {
              if (e == "[DONE]") {
                done = true;
                continue;
              }
              if (first) {
                ttft_ms[k] =
                    std::chrono::duration<double, std::milli>(Clock::now() - start).count();
                first = false;
              }
              auto j = nlohmann::json::parse(e, nullptr, false);
              if (j.is_object() && j.contains("usage")) {
                tokens += j["usage"]["completion_tokens"].get<int64_t>();
              }
            }
            return true;
          };
          // The final chunk carries usage only when asked.
          auto body = nlohmann::json::parse(req.body);
          body["stream_options"] = {{"include_usage", true}};
          req.body = body.dump();
          auto res = client.send(req);
          if (!res || res->status != 200 || !done) ++failures;
        }
      });
    }
    for (auto& t : clients) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const server::Scheduler::DecodeStats d1 = (*service)->scheduler().decode_stats();
    const double step_s = (d1.step_ns - d0.step_ns) / 1e9;
    const double s_tg = step_s > 0 ? (d1.tokens - d0.tokens) / step_s : 0;
    const double eval_pct = step_s > 0 ? 100.0 * (d1.eval_ns - d0.eval_ns) / 1e9 / step_s : 0;
    const double engine_tg =
        no_baseline ? 0 : EngineBatchedDecode(*engine, streams, baseline_prompt, gen_tokens, &rng);
    const int64_t d_steps = d1.steps - d0.steps;
    const double width = d_steps > 0 ? static_cast<double>(d1.tokens - d0.tokens) / d_steps : 0;
    std::printf("%8d %9zu %9.1f %10.1f %7.1f %6.1f %11.1f %12.0f %12.0f\n", streams, bodies.size(),
                static_cast<double>(tokens.load()) / seconds, s_tg, eval_pct, width, engine_tg,
                Percentile(ttft_ms, 0.5), Percentile(ttft_ms, 0.99));
    std::fflush(stdout);
    if (failures.load() > 0) {
      std::fprintf(stderr, "%s: %d requests failed at %d streams\n", argv[0], failures.load(),
                   streams);
      all_ok = false;
    }
  }
  std::printf("scheduler: %lld forward passes, widest batch %lld sequences\n",
              static_cast<long long>((*service)->scheduler().steps()),
              static_cast<long long>((*service)->scheduler().max_batch_seen()));
  http.Stop();
  runner.join();
  (*service)->Shutdown(false, Clock::now());
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace

ODLM_COMMAND("bench-serve", "benchmark the HTTP service: tok/s and TTFT at 1/4/16 streams",
             RunBenchServe);

}  // namespace odlm::cli
