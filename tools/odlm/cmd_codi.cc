// tools/odlm/cmd_codi.cc — `odlm codi`: conversational distillation (docs/CODI.md).
//
//   odlm codi synth --graph G.yaml [--seeds S.jsonl] --docs D.jsonl|DIR|F.md --teacher URL
//                   [--teacher URL …] --model NAME
//                   --out OUT.jsonl -n N [--concurrency C] [--seed S] [--shard k/N] [--resume]
//                   [--api-key-env VAR] [--rate R] [--timeout S] [--max-attempts K]
//                   [--breaker-failures K] [--breaker-cooldown S]
//   odlm codi stats OUT.jsonl [--graph G.yaml] [--json]
//   odlm codi export OUT.jsonl --format hf|sharegpt|odlm|coqa --out FILE [--include-failed]
//                    [--dedup] [--max-exchanges N]
//   odlm codi check --graph G.yaml      # validate a graph and print its links and chain
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/hash.h"
#include "codi/export.h"
#include "codi/graph.h"
#include "codi/stats.h"
#include "codi/synth.h"
#include "command.h"
#include "common_options.h"
#include "platform/file_util.h"

namespace odlm::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

int Fail(const char* what, const Status& s) {
  std::fprintf(stderr, "odlm codi %s: %s\n", what, s.ToString().c_str());
  return kExitFailure;
}

struct SynthArgs {
  std::string graph, docs, seeds, model, out, shard = "0/1", api_key_env;
  std::vector<std::string> teachers;
  uint64_t n = 0, seed = 0;
  int concurrency = 8, max_attempts = 6, batch_lines = 64, passage_chars = 2000;
  int phenomenon_attempts = 3;
  double rate = 0, timeout = 180, connect_timeout = 10, retry_base = 1.0, retry_max = 60;
  double progress = 1.0;
  int breaker_failures = 3;
  double breaker_cooldown = 5;
  bool resume = false, retry_failed = false;
};

// Declares `synth` and its options, bound to *a.
CLI::App* AddSynthCommand(CLI::App& app, SynthArgs* a) {
  auto* synth = app.add_subcommand("synth", "write -n conversations to --out (JSONL)");
  synth->add_option("--graph", a->graph, "conversation graph (.yaml/.yml or .json)")->required();
  synth->add_option("--seeds", a->seeds,
                    "seed examples, JSONL {\"link\", \"text\"}, added to the graph's links");
  synth
      ->add_option("--docs", a->docs,
                   "documents: JSONL with id and text, or a .txt/.md file or a directory of them "
                   "(split into passages)")
      ->required();
  synth
      ->add_option("--passage-chars", a->passage_chars,
                   "text documents: passage size in bytes at most")
      ->check(CLI::Range(16, 1 << 24));
  synth
      ->add_option("--teacher", a->teachers,
                   "teacher base URL, e.g. http://127.0.0.1:8080 (repeat to balance several)")
      ->required();
  synth->add_option("--model", a->model, "model name sent to the teacher")->required();
  synth->add_option("--out", a->out, "output JSONL (append-only, resumable)")->required();
  synth->add_option("-n", a->n, "conversations in the whole run (all shards together)")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  synth->add_option("--concurrency", a->concurrency, "conversations in flight")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  synth->add_option("--seed", a->seed, "seed of every random choice")->capture_default_str();
  synth->add_option("--shard", a->shard, "this job's share k/N: indices with index % N == k")
      ->capture_default_str();
  synth->add_flag("--resume", a->resume, "continue an interrupted run in --out");
  synth->add_flag("--retry-failed", a->retry_failed,
                  "with --resume: run the conversations recorded as failed again (same indices)");
  synth->add_option("--api-key-env", a->api_key_env,
                    "environment variable holding the teacher's API key (Bearer)");
  synth->add_option("--rate", a->rate, "at most this many requests per second (0: no limit)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  synth->add_option("--timeout", a->timeout, "seconds to wait for one teacher reply")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();
  synth->add_option("--connect-timeout", a->connect_timeout, "seconds to connect")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  synth->add_option("--max-attempts", a->max_attempts, "teacher calls per turn before giving up")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  synth
      ->add_option("--phenomenon-attempts", a->phenomenon_attempts,
                   "valid replies per turn to get the phenomenon asked for (1: keep the first)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  synth
      ->add_option("--retry-base", a->retry_base,
                   "first retry delay in seconds (doubles each retry, jittered)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  synth->add_option("--retry-max", a->retry_max, "largest retry delay in seconds")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  synth
      ->add_option("--breaker-failures", a->breaker_failures,
                   "consecutive failures that take a teacher endpoint out of the pool")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  synth
      ->add_option("--breaker-cooldown", a->breaker_cooldown,
                   "seconds before an endpoint taken out gets one probe request (doubles after "
                   "each failed probe, up to 120 s or this value)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  synth->add_option("--batch-lines", a->batch_lines, "records per durable write (fsync)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  synth->add_option("--progress", a->progress, "seconds between progress lines (0: quiet)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();

  return synth;
}

// `codi check`: validates a graph and prints its links and chain.
int RunCheck(const std::string& graph_path) {
  auto g = codi::LoadGraphFile(graph_path);
  if (!g.ok()) return Fail("check", g.status());
  std::printf("graph '%s': %zu links, %zu phenomena, walks of %d..%d turns\n", g->name.c_str(),
              g->links.size(), g->phenomena.size(), g->lengths.front().first, g->max_length());
  for (size_t i = 0; i < g->links.size(); ++i) {
    const auto& l = g->links[i];
    std::printf("  %-16s role %-8s weight %.2f  ->", l.name.c_str(), l.role.c_str(),
                g->RoleWeight(l.role));
    for (size_t t = 0; t < g->links.size(); ++t) {
      if (g->transitions[i][t] > 0) {
        std::printf(" %s %.3g", g->links[t].name.c_str(), g->transitions[i][t]);
      }
    }
    std::printf("\n");
  }
  return kExitOk;
}

// `codi stats FILE`.
int RunStats(const std::string& file, const std::string& graph_path, bool json) {
  std::unique_ptr<codi::Graph> g;
  if (!graph_path.empty()) {
    auto loaded = codi::LoadGraphFile(graph_path);
    if (!loaded.ok()) return Fail("stats", loaded.status());
    g = std::make_unique<codi::Graph>(std::move(loaded).value());
  }
  auto s = codi::ComputeStats(file, g.get());
  if (!s.ok()) return Fail("stats", s.status());
  if (json) {
    std::printf("%s\n", s->dump(2).c_str());
  } else {
    std::printf("%s", codi::FormatStats(*s).c_str());
  }
  return kExitOk;
}

// `codi export FILE`.
int RunExport(const std::string& file, const std::string& format, const std::string& out,
              const codi::ExportOptions& options) {
  auto f = codi::ParseExportFormat(format);
  if (!f.ok()) {
    std::fprintf(stderr, "odlm codi export: %s\n", f.status().message().c_str());
    return kExitUsage;
  }
  auto s = codi::ExportFile(file, *f, out, options);
  if (!s.ok()) return Fail("export", s.status());
  std::fprintf(stderr, "odlm codi export: %zu conversations written to %s (%zu failed skipped",
               s->written, out.c_str(), s->skipped_failed);
  if (options.dedup) {
    std::fprintf(stderr, ", %zu near-duplicates dropped", s->skipped_duplicates);
  }
  std::fprintf(stderr, ")\n");
  return kExitOk;
}

// `codi synth`: loads the graph, seeds and documents, builds the teacher pool and runs.
int RunSynthCommand(const SynthArgs& a) {
  codi::SynthOptions o;
  if (Status s = codi::ParseShard(a.shard, &o.shard_index, &o.shard_count); !s.ok()) {
    std::fprintf(stderr, "odlm codi synth: %s\n", s.message().c_str());
    return kExitUsage;
  }
  std::vector<codi::SeedExample> seeds;
  if (!a.seeds.empty()) {
    auto loaded = codi::LoadSeedExamples(a.seeds);
    if (!loaded.ok()) return Fail("synth", loaded.status());
    seeds = std::move(loaded).value();
  }
  auto graph = codi::LoadGraphFile(a.graph, a.seeds.empty() ? nullptr : &seeds);
  if (!graph.ok()) return Fail("synth", graph.status());
  codi::PassageOptions passages;
  passages.max_chars = static_cast<size_t>(a.passage_chars);
  auto docs = codi::LoadDocuments(a.docs, passages);
  if (!docs.ok()) return Fail("synth", docs.status());
  codi::TeacherOptions t;
  t.urls = a.teachers;
  t.model = a.model;
  t.request_timeout_s = a.timeout;
  t.connect_timeout_s = a.connect_timeout;
  t.max_requests_per_s = a.rate;
  t.breaker.failures_to_open = a.breaker_failures;
  t.breaker.cooldown_s = a.breaker_cooldown;
  if (!a.api_key_env.empty()) {
    auto key = ApiKeyFromEnv(a.api_key_env);
    if (!key.ok()) {
      std::fprintf(stderr, "odlm codi synth: %s\n", key.status().message().c_str());
      return kExitUsage;
    }
    t.api_key = *key;
  }
  auto pool = codi::TeacherPool::Create(t);
  if (!pool.ok()) {
    std::fprintf(stderr, "odlm codi synth: %s\n", pool.status().message().c_str());
    return kExitUsage;
  }
  o.out_path = a.out;
  o.n = a.n;
  o.seed = a.seed;
  o.concurrency = a.concurrency;
  o.resume = a.resume;
  o.retry_failed = a.retry_failed;
  // What the run is made with, recorded in each conversation and checked on --resume.
  auto file_hash = [](const std::string& path) {
    StatusOr<std::string> bytes = ReadFileToString(path);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(bytes.ok() ? Fnv1a64(*bytes) : 0));
    return std::string(hex);
  };
  o.teacher_model = a.model;
  // The seed examples are part of the graph a run was made with.
  o.graph_hash =
      a.seeds.empty() ? file_hash(a.graph) : file_hash(a.graph) + "+" + file_hash(a.seeds);
  o.docs_hash = codi::DocumentsFingerprint(*docs);
  o.retry.max_attempts = a.max_attempts;
  o.retry.phenomenon_attempts = a.phenomenon_attempts;
  o.retry.base_s = a.retry_base;
  o.retry.max_s = a.retry_max;
  o.batch_lines = a.batch_lines;
  o.progress_seconds = a.progress;
  o.stop = &g_stop;
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto s = codi::RunSynth(*graph, *docs, pool->get(), o);
  if (!s.ok()) return Fail("synth", s.status());
  std::fprintf(stderr, "odlm codi synth: %s\n", codi::FormatSummary(*s).c_str());
  if (s->interrupted > 0) {
    std::fprintf(stderr, "odlm codi synth: interrupted; run again with --resume to finish\n");
    return kExitFailure;
  }
  if (s->ok == 0 && s->failed > 0) {
    std::fprintf(stderr,
                 "odlm codi synth: every conversation failed (see \"reason\" and \"detail\" in "
                 "%s; odlm codi stats shows them by reason)\n",
                 o.out_path.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int RunCodi(int argc, char** argv) {
  CLI::App app(
      "CoDi conversational distillation: synthesize grounded multi-turn conversations from a "
      "teacher model served behind an OpenAI-compatible chat API (docs/CODI.md).",
      argv[0]);
  app.require_subcommand(1);
  SynthArgs a;
  CLI::App* synth = AddSynthCommand(app, &a);
  std::string file, graph_path, format, out;
  bool json = false;
  codi::ExportOptions export_options;
  auto* stats =
      app.add_subcommand("stats", "transitions vs the graph, phenomena, lengths, failures");
  stats->add_option("FILE", file, "output of codi synth")->required();
  stats->add_option("--graph", graph_path, "the graph it was made with (enables chi-square)");
  stats->add_flag("--json", json, "print JSON");
  auto* exp = app.add_subcommand(
      "export", "write training data (hf, sharegpt, odlm) or an evaluation set (coqa)");
  exp->add_option("FILE", file, "output of codi synth")->required();
  exp->add_option("--format", format, "hf | sharegpt | odlm | coqa")->required();
  exp->add_option("--out", out, "output JSONL")->required();
  exp->add_flag("--include-failed", export_options.include_failed,
                "also export given-up conversations' turns");
  exp->add_flag(
      "--dedup", export_options.dedup,
      "drop conversations that near-duplicate one earlier by id (MinHash, Jaccard >= 0.8)");
  exp->add_option("--max-exchanges", export_options.max_exchanges,
                  "keep each conversation up to its Nth answer (AGENT turn): shorter conversations "
                  "from the same set")
      ->check(CLI::PositiveNumber);
  auto* check = app.add_subcommand("check", "validate a graph and print its links and chain");
  check->add_option("--graph", graph_path, "graph file")->required();
  app.footer(
      "examples:\n"
      "  odlm codi synth --graph examples/codi/coqa_graph.yaml --docs "
      "examples/codi/documents.jsonl\n"
      "      --teacher http://127.0.0.1:8080 --model llama-3-70b --out convs.jsonl -n 1000\n"
      "      --concurrency 32 --shard 0/4\n"
      "  odlm codi stats convs.jsonl --graph examples/codi/coqa_graph.yaml\n"
      "  odlm codi export convs.jsonl --format hf --out train.jsonl");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (*check) return RunCheck(graph_path);
  if (*stats) return RunStats(file, graph_path, json);
  if (*exp) return RunExport(file, format, out, export_options);
  CHECK(*synth);
  return RunSynthCommand(a);
}

ODLM_COMMAND("codi", "CoDi: synthesize, inspect and export distilled conversations", RunCodi);

}  // namespace odlm::cli
