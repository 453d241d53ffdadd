// tools/odlm/cmd_bench_serve.cc — `odlm bench-serve`: throughput and time to first token of the
// HTTP service under 1, 4, 16 … concurrent streaming clients.
//
// Runs the service in-process on a free loopback port and drives it over HTTP like real apps:
// each client streams POST /v1/completions with a prompt of --prompt distinct random token ids
// (so no prefix is shared) and --gen generated tokens (ignore_eos, so every request generates all
// of them). Reports per concurrency level: aggregate generated tokens/s (all completion tokens /
// wall time of the level), and p50 / p99 time to first token measured by the client.
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

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

int RunBenchServe(int argc, char** argv) {
  CLI::App app("Benchmark odlm serve: aggregate tok/s and time to first token under concurrency.",
               argv[0]);
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
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;

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
  std::printf("%8s %10s %14s %12s %12s\n", "streams", "requests", "aggregate t/s", "TTFT p50 ms",
              "TTFT p99 ms");
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
    std::printf("%8d %10zu %14.1f %12.0f %12.0f\n", streams, bodies.size(),
                static_cast<double>(tokens.load()) / seconds, Percentile(ttft_ms, 0.5),
                Percentile(ttft_ms, 0.99));
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
