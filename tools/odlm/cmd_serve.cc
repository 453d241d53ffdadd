// tools/odlm/cmd_serve.cc — `odlm serve`: the model as an HTTP service shared by many apps
// (OpenAI-compatible API, persistent contexts, per-app keys). See src/server/.
//
//   odlm serve --keys keys.json --add-app notes        # prints the new app's key once, exits
//   odlm serve -m model.gguf --keys keys.json --state-dir state --port 8080
//   odlm serve -m model.gguf --socket /run/odlm.sock --allow-uid 1000   # Unix socket only
//   odlm serve -m model.gguf --lora notes=notes.gguf:0.8 --allow-adapter-admin
//   odlm serve -m model.gguf --adapters-dir adapters/   # each adapters/NAME.gguf, live
//
// Adapters: --lora registers an adapter (name = NAME or the file's stem); --adapters-dir registers
// every adapter in a directory and follows it (new, replaced and deleted files; see
// server/adapter_dir_watcher.h); requests choose theirs with "adapters": [{"name", "scale"}]
// (none: the base model). See docs/SERVE.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "command.h"
#include "common_options.h"
#include "odlm/context_memory.h"
#include "server/http_server.h"
#include "server/key_store.h"
#include "server/service.h"
#include "speculative_options.h"

namespace odlm::cli {
namespace {

std::string ModelId(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".gguf") == 0) {
    base.resize(base.size() - 5);
  }
  return base.empty() ? "odlm" : base;
}

int RunServe(int argc, char** argv) {
  CLI::App app("Serve the model over HTTP: OpenAI-compatible API, persistent contexts, app keys.",
               argv[0]);
  app.footer(
      "examples:\n"
      "  odlm serve -m model.gguf --port 8080\n"
      "  odlm serve -m model.gguf --keys keys.json --add-app notes     # prints the app's key\n"
      "  odlm serve -m model.gguf --keys keys.json --state-dir state --kv-budget 512 "
      "--kv-policy llms\n"
      "  odlm serve -m model.gguf --lora notes=notes.gguf --adapters-dir adapters/\n"
      "  curl -s 127.0.0.1:8080/v1/chat/completions -d "
      "'{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'\n"
      "See docs/SERVE.md for every route, the limits and the metrics.\n");
  ModelOptions model;
  AddModelOptions(app, &model);
  app.get_option("--lora")->description(
      "register a LoRA adapter [NAME=]FILE[:SCALE] (repeatable; NAME defaults to the file's "
      "stem, SCALE is what requests naming it without a scale get); requests pick adapters "
      "with \"adapters\": [{\"name\", \"scale\"}]");
  SpeculativeCliOptions speculative;
  AddSpeculativeOptions(app, &speculative);
  bool allow_adapter_admin = false;
  app.add_flag("--allow-adapter-admin", allow_adapter_admin,
               "allow POST /v1/adapters, PUT and DELETE /v1/adapters/{name} (any app key may "
               "then make the server load adapter files by path)");
  std::string adapters_dir;
  int adapters_dir_max = 256, adapters_dir_poll_ms = 1000;
  app.add_option("--adapters-dir", adapters_dir,
                 "register every adapter in DIR (NAME.gguf files, PEFT directories NAME/) and "
                 "follow it: new files are registered, replaced ones re-registered, deleted ones "
                 "unregistered (names starting with '.' or containing .tmp are ignored; --lora "
                 "names win)");
  app.add_option("--adapters-dir-max", adapters_dir_max,
                 "most adapters followed in --adapters-dir (the rest are logged and ignored)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--adapters-dir-poll-ms", adapters_dir_poll_ms,
                 "how often --adapters-dir is looked at, in milliseconds")
      ->check(CLI::Range(20, 600000))
      ->capture_default_str();
  server::HttpOptions http;
  server::ServiceOptions service;
  std::string keys_path, add_app, state_dir, socket_path;
  server::AppLimits app_limits;
  int max_queue = 64, parallel = 16, prefill_slice = 64, max_tokens_cap = 4096;
  int drain_seconds = 20;
  CLI::Option* host_opt =
      app.add_option("--host", http.host, "address to listen on")->capture_default_str();
  CLI::Option* port_opt =
      app.add_option("--port", http.port, "TCP port (0: any free port, printed on stdout)")
          ->check(CLI::Range(0, 65535))
          ->capture_default_str();
  std::vector<int64_t> allow_uids;
  app.add_option("--socket", socket_path,
                 "listen on this Unix socket (mode 0600, 0660 with other --allow-uid); TCP too "
                 "only if --host or --port is given");
  app.add_option("--allow-uid", allow_uids,
                 "a uid that may connect to --socket (repeatable; default: the service's own)")
      ->check(CLI::Range(int64_t{0}, int64_t{0xfffffffe}));
  app.add_option("--keys", keys_path, "keys file: require an app key on every request");
  app.add_option("--add-app", add_app, "add an app to --keys, print its key once, and exit");
  app.add_option("--app-max-contexts", app_limits.max_contexts,
                 "with --add-app: contexts the app may hold (0: no limit)")
      ->capture_default_str();
  app.add_option("--app-max-in-flight", app_limits.max_in_flight,
                 "with --add-app: requests in flight (0: no limit)")
      ->capture_default_str();
  app.add_option("--app-max-context-tokens", app_limits.max_context_tokens,
                 "with --add-app: tokens per context (0: the model's context)")
      ->capture_default_str();
  app.add_option("--app-max-queued", app_limits.max_queued,
                 "with --add-app: requests waiting for one of the app's in-flight slots (then "
                 "429 app_queue_full)")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  app.add_option("--state-dir", state_dir, "directory for persistent contexts (default: memory)");
  app.add_option("--max-queue", max_queue, "requests waiting beyond the active ones (then 429)")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  app.add_option("--parallel", parallel, "requests generating at once (decode batch width)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--prefill-slice", prefill_slice,
                 "prompt tokens per step while other requests decode")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  app.add_option("--max-tokens-cap", max_tokens_cap, "largest max_tokens a request may ask")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--max-body", http.max_body_bytes, "largest request body in bytes")
      ->capture_default_str();
  double header_timeout_s = 10, body_timeout_s = 30, idle_timeout_s = 5;
  app.add_option("--header-timeout", header_timeout_s,
                 "seconds a connection has to send its request line and headers (then 408)")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--body-timeout", body_timeout_s,
                 "seconds a request has to send its body once its headers are in (then 408)")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout_s,
                 "seconds a kept-alive connection may wait for its next request")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--max-connections", http.connections.max_connections,
                 "connections held at once, all clients together (then 503 server_busy)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--max-connections-per-peer", http.connections.max_connections_per_peer,
                 "connections one client address (or socket uid) may hold at once (then 429 "
                 "too_many_connections); loopback clients are one peer")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--chat-template", service.chat_template,
                 "chat template name (default: recognized from the model)");
  app.add_option("--drain-seconds", drain_seconds,
                 "on SIGTERM, seconds to let in-flight requests finish before cancelling")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  double kv_budget_mib = -1, kv_ratio = -1;
  std::string kv_policy, swap_dir;
  bool kv_no_compress = false, kv_no_warm = false;
  app.add_option("--kv-budget", kv_budget_mib,
                 "MiB of KV stored for persistent contexts (fractions allowed); contexts' KV is "
                 "then managed by the context memory (default policy llms)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--kv-policy", kv_policy,
                 "context KV policy: llms, recompute, swap or resident (default without "
                 "--kv-budget: fp16 caches of the 32 most recent contexts, as resident)");
  app.add_option("--swap-dir", swap_dir,
                 "directory for evicted context KV (llms, swap); llms contexts survive restarts");
  app.add_option("--kv-ratio", kv_ratio,
                 "llms: compressed size of a context as a fraction of its all-8-bit size (the "
                 "quality knob: higher keeps more chunks 8-bit; default 0.6, docs/PERFORMANCE.md "
                 "has the trade-off)")
      ->check(CLI::Range(0.05, 1.0));
  app.add_flag("--kv-no-compress", kv_no_compress,
               "llms: keep chunks fp16 (bit-exact restore) instead of 8/4/2-bit");
  app.add_flag("--kv-no-warm", kv_no_warm,
               "llms: free a context's working fp16 cache when its call ends (all KV in memory "
               "between calls within --kv-budget) instead of keeping the last one for a "
               "follow-up call");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  const auto ms = [](double seconds) {
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
  };
  http.connections.header_timeout = ms(header_timeout_s);
  http.connections.body_timeout = ms(body_timeout_s);
  http.connections.idle_timeout = ms(idle_timeout_s);
  if (kv_budget_mib >= 0 || !kv_policy.empty() || !swap_dir.empty() || kv_no_compress ||
      kv_no_warm || kv_ratio > 0) {
    ContextMemoryOptions cm;
    if (!kv_policy.empty()) {
      auto p = ParseKvPolicy(kv_policy);
      if (!p.ok()) {
        std::fprintf(stderr, "%s: --kv-policy: %s\n", argv[0], p.status().ToString().c_str());
        return kExitUsage;
      }
      cm.policy = *p;
    }
    cm.budget_bytes = kv_budget_mib > 0 ? static_cast<int64_t>(kv_budget_mib * 1048576.0) : 0;
    if (kv_budget_mib == 0) {
      std::fprintf(stderr, "%s: --kv-budget must be more than 0 MiB\n", argv[0]);
      return kExitUsage;
    }
    cm.swap_dir = swap_dir;
    cm.compress = !kv_no_compress;
    if (kv_ratio > 0) cm.compression_ratio = kv_ratio;
    cm.keep_warm = !kv_no_warm;
    if (cm.policy == KvPolicy::kSwap && cm.swap_dir.empty()) {
      std::fprintf(stderr, "%s: --kv-policy swap needs --swap-dir DIR\n", argv[0]);
      return kExitUsage;
    }
    service.context_memory = cm;
  }

  if (!add_app.empty()) {
    if (keys_path.empty()) {
      std::fprintf(stderr, "%s: --add-app needs --keys FILE\n", argv[0]);
      return kExitUsage;
    }
    auto key = server::KeyStore::AddApp(keys_path, add_app, app_limits);
    if (!key.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], key.status().ToString().c_str());
      return kExitFailure;
    }
    std::printf("%s\n", key->c_str());
    std::fprintf(stderr, "added app '%s' to %s; the key above is shown only this once\n",
                 add_app.c_str(), keys_path.c_str());
    return kExitOk;
  }
  if (!allow_uids.empty() && socket_path.empty()) {
    std::fprintf(stderr, "%s: --allow-uid applies to --socket PATH\n", argv[0]);
    return kExitUsage;
  }
  http.socket_path = socket_path;
  for (int64_t uid : allow_uids) http.allow_uids.push_back(static_cast<uid_t>(uid));
  http.listen_tcp = socket_path.empty() || host_opt->count() > 0 || port_opt->count() > 0;
  std::unique_ptr<server::KeyStore> keys;
  if (!keys_path.empty()) {
    auto loaded = server::KeyStore::Load(keys_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], loaded.status().ToString().c_str());
      return kExitFailure;
    }
    keys = std::make_unique<server::KeyStore>(std::move(loaded).value());
  } else if (http.listen_tcp && !server::IsLoopbackHost(http.host)) {
    std::fprintf(
        stderr,
        "%s: without --keys the service has no authentication and listens on loopback "
        "only; '%s' is not a loopback address (add apps with --keys FILE --add-app NAME)\n",
        argv[0], http.host.c_str());
    return kExitUsage;
  }

  // Signals are taken by one thread with sigwait: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Adapters are registered by the service (not applied to every session as in run / chat).
  std::vector<AdapterSpec> adapters;
  for (const std::string& arg : model.lora) {
    AdapterSpec spec;
    std::string error;
    if (!ParseNamedLoraSpec(arg, &spec, &error)) {
      std::fprintf(stderr, "%s: --lora %s: %s\n", argv[0], arg.c_str(), error.c_str());
      return kExitUsage;
    }
    if (spec.name.empty()) spec.name = AdapterNameFromPath(spec.path);
    adapters.push_back(spec);
  }
  model.lora.clear();
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  // The server's default for requests without "speculative"; a request may also ask for the
  // draft model loaded here.
  std::unique_ptr<Engine> draft_engine;
  if (!SetUpSpeculative(argv[0], speculative, model, *engine, &draft_engine,
                        &service.speculative)) {
    return kExitFailure;
  }
  service.state_dir = state_dir;
  service.model_id = ModelId(engine->options().model_path);
  service.scheduler.max_queue = max_queue;
  service.scheduler.max_active = parallel;
  service.scheduler.prefill_slice = prefill_slice;
  service.limits.max_tokens_cap = max_tokens_cap;
  service.local_limits.max_contexts = 0;
  service.local_limits.max_in_flight = 0;
  service.allow_adapter_admin = allow_adapter_admin;
  auto svc = server::Service::Create(engine.get(), service, std::move(keys));
  if (!svc.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], svc.status().ToString().c_str());
    return kExitFailure;
  }
  server::Service& s = **svc;
  for (const AdapterSpec& spec : adapters) {
    if (Status st = s.RegisterAdapter(spec); !st.ok()) {
      std::fprintf(stderr, "%s: --lora %s: %s\n", argv[0], spec.path.c_str(),
                   st.ToString().c_str());
      return kExitFailure;
    }
  }
  if (!adapters_dir.empty()) {
    server::AdapterDirOptions dir;
    dir.dir = adapters_dir;
    dir.max_adapters = adapters_dir_max;
    dir.poll_interval = std::chrono::milliseconds(adapters_dir_poll_ms);
    if (Status st = s.WatchAdapterDir(dir); !st.ok()) {
      std::fprintf(stderr, "%s: --adapters-dir %s: %s\n", argv[0], adapters_dir.c_str(),
                   st.ToString().c_str());
      return kExitFailure;
    }
  }
  // Requests waiting for their app's slot hold a handler thread: room for a few apps' queues.
  http.handler_threads = std::max(128, parallel + max_queue + 64);
  server::HttpServer server(&s, http);
  if (Status st = server.Bind(); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], st.ToString().c_str());
    return kExitFailure;
  }

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "odlm serve: signal %d: finishing in-flight requests (up to %d s)\n", sig,
                 drain_seconds);
    server.SetDraining();
    s.Shutdown(/*drain=*/true,
               std::chrono::steady_clock::now() + std::chrono::seconds(drain_seconds));
    server.Stop();
  });
  // Announce the port (tests and scripts wait for this line) once connections are accepted.
  std::atomic<bool> run_returned{false};
  std::thread announcer([&] {
    while (!server.is_running() && !run_returned.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (run_returned.load()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // into the accept loop
    std::string where;
    if (http.listen_tcp) where = "http://" + http.host + ":" + std::to_string(server.port());
    if (!http.socket_path.empty()) {
      where += (where.empty() ? "unix:" : " and unix:") + http.socket_path;
    }
    std::printf("odlm serve: listening on %s (model %s, %s)\n", where.c_str(),
                service.model_id.c_str(),
                s.auth_required() ? "app keys required"
                : http.listen_tcp ? "no auth, loopback only"
                                  : "no auth, socket peers' uids checked");
    std::fflush(stdout);
  });
  server.Run();
  run_returned = true;
  announcer.join();
  // Run also returns if the listener fails; make the waiter finish in that case too.
  if (waiter.joinable()) {
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  }
  s.Shutdown(false, std::chrono::steady_clock::now());
  std::fprintf(stderr, "odlm serve: stopped\n");
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("serve", "serve the model over HTTP (OpenAI-compatible, persistent contexts, keys)",
             RunServe);

}  // namespace odlm::cli
