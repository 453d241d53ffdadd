// tools/odlm/cmd_world.cc — `odlm world`: the synthetic world and its teacher (docs/WORLD.md).
//
//   odlm world gen --seed S --entities N [--test-entities M] --out-dir DIR
//   odlm world teacher --world DIR/world.json [--host 127.0.0.1] [--port 8090] [--threads 64]
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "command.h"
#include "world/teacher.h"
#include "world/teacher_server.h"
#include "world/world.h"

namespace odlm::cli {
namespace {

int Fail(const char* what, const Status& s) {
  std::fprintf(stderr, "odlm world %s: %s\n", what, s.ToString().c_str());
  return kExitFailure;
}

int RunGen(uint64_t seed, int train, int test, const std::string& dir) {
  const world::World w = world::GenerateWorld({seed, train, test});
  if (Status s = world::WriteWorld(w, dir); !s.ok()) return Fail("gen", s);
  std::map<std::string, int> kinds;
  for (const auto& e : w.entities) ++kinds[e.kind];
  std::string by_kind;
  for (const auto& [k, n] : kinds)
    by_kind += (by_kind.empty() ? "" : ", ") + k + " " + std::to_string(n);
  std::printf(
      "odlm world gen: seed %llu, %d train + %d test entities (%s)\n  %s/train.jsonl\n  "
      "%s/test.jsonl\n  %s/world.json\n",
      static_cast<unsigned long long>(seed), train, test, by_kind.c_str(), dir.c_str(), dir.c_str(),
      dir.c_str());
  return kExitOk;
}

int RunTeacher(const std::string& path, const std::string& host, int port, int threads) {
  auto w = world::LoadWorld(path);
  if (!w.ok()) return Fail("teacher", w.status());
  const size_t n = w->entities.size();
  const world::Teacher teacher(std::move(w).value());
  world::TeacherServer server(&teacher, threads);
  // Signals are taken by sigwait below, not by the server's threads (blocked before they start).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  auto bound = server.Bind(host, port);
  if (!bound.ok()) return Fail("teacher", bound.status());
  std::thread serving([&server] { server.Run(); });
  std::printf(
      "odlm world teacher: listening on http://%s:%d (%zu entities, model "
      "odlm-world-teacher)\n",
      host.c_str(), *bound, n);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server.Stop();
  serving.join();
  std::fprintf(stderr,
               "odlm world teacher: signal %d: stopped after %lld requests (%lld refused)\n", sig,
               static_cast<long long>(server.requests()), static_cast<long long>(server.errors()));
  return kExitOk;
}

int RunWorld(int argc, char** argv) {
  CLI::App app(
      "The synthetic world: fictional entities with typed facts and one document each, split into "
      "train and test, and a teacher that knows it — an OpenAI-compatible endpoint that writes "
      "CoDi questions and grounded answers from the facts (docs/WORLD.md).",
      argv[0]);
  app.require_subcommand(1);
  uint64_t seed = 0;
  int train = 0, test = 0, port = 8090, threads = 64;
  std::string dir, path, host = "127.0.0.1";
  auto* gen = app.add_subcommand("gen", "write DIR/train.jsonl, DIR/test.jsonl, DIR/world.json");
  gen->add_option("--seed", seed, "seed: the same seed writes the same bytes")
      ->capture_default_str();
  gen->add_option("--entities", train, "entities (documents) of the train split")
      ->required()
      ->check(CLI::Range(1, 100000));
  gen->add_option("--test-entities", test, "entities of the test split (disjoint names)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  gen->add_option("--out-dir", dir, "output directory (created if missing)")->required();
  gen->footer(
      "example:\n  odlm world gen --seed 1 --entities 400 --test-entities 50 --out-dir world");
  auto* serve = app.add_subcommand(
      "teacher", "serve the world teacher: POST /v1/chat/completions, GET /v1/models");
  serve->add_option("--world", path, "world.json written by `odlm world gen`")->required();
  serve->add_option("--host", host, "address to listen on")->capture_default_str();
  serve->add_option("--port", port, "port (0: a free one, printed)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve->add_option("--threads", threads, "connection workers (>= the synthesizer's --concurrency)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  serve->footer(
      "example:\n  odlm world teacher --world world/world.json --port 8090\n"
      "  (then: odlm codi synth --graph examples/world/grounded_qa_graph.yaml --docs "
      "world/train.jsonl\n   --teacher http://127.0.0.1:8090 --model odlm-world-teacher …)");
  app.footer(
      "example (the whole pipeline, docs/WORLD.md):\n"
      "  odlm world gen --seed 1 --entities 400 --test-entities 50 --out-dir world\n"
      "  odlm world teacher --world world/world.json --port 8090 &\n"
      "  odlm codi synth --graph examples/world/grounded_qa_graph.yaml --docs world/train.jsonl\n"
      "      --teacher http://127.0.0.1:8090 --model odlm-world-teacher --out convs.jsonl -n 4000");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (*gen) return RunGen(seed, train, test, dir);
  return RunTeacher(path, host, port, threads);
}

}  // namespace

ODLM_COMMAND("world",
             "synthetic world: generate documents and facts, serve a teacher that knows it",
             RunWorld);

}  // namespace odlm::cli
