// tools/odlm/common_options.cc — shared model and sampling options.
#include "common_options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "base/logging.h"
#include "command.h"
#include "platform/file_util.h"

namespace odlm::cli {

void AddModelOptions(CLI::App& app, ModelOptions* o) {
  app.add_option("-m,--model", o->model, "GGUF model file (default: the build's generated model)");
  app.add_option("-t,--threads", o->threads, "threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("-c,--ctx-size", o->ctx,
                 "context length in tokens (default: the model's, max 4096)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("--kv-type", o->kv_type, "KV cache type: f16 or f32")
      ->check(CLI::IsMember({"f16", "f32"}));
  app.add_flag("-v,--verbose", o->verbose, "print the model summary and speeds to stderr");
  app.add_flag("--no-mmap", o->no_mmap,
               "read the model into memory (2 MiB pages where the OS allows) instead of mapping "
               "it: slower start, faster decode on machines where page walks are costly");
  app.add_flag("--no-repack", o->no_repack,
               "keep the weights in the file's row layout instead of repacking them 8 rows at a "
               "time for this CPU's kernels (saves the repacked copy's memory; slower)");
  app.add_option("--lora", o->lora,
                 "LoRA adapter [NAME=]FILE[:SCALE] (GGUF adapter or PEFT directory; scale default "
                 "1; NAME default the file's stem; repeatable, applied together)");
}

void AddSamplingOptions(CLI::App& app, SamplingOptions* o) {
  app.add_option("-n,--n-predict", o->n_predict, "tokens to generate at most")
      ->check(CLI::Range(0, 1 << 24));
  app.add_option("--temp", o->temp, "temperature; 0 = greedy")->check(CLI::Range(0.0f, 100.0f));
  app.add_option("--top-k", o->top_k, "top-k; 0 = off")->check(CLI::Range(0, 1 << 24));
  app.add_option("--top-p", o->top_p, "top-p (nucleus); 1 = off")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--min-p", o->min_p, "min-p; 0 = off")->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--repeat-penalty", o->repeat_penalty, "repetition penalty; 1 = off")
      ->check(CLI::Range(0.0f, 100.0f));
  app.add_option("--frequency-penalty", o->frequency_penalty, "frequency penalty")
      ->check(CLI::Range(-10.0f, 10.0f));
  app.add_option("--presence-penalty", o->presence_penalty, "presence penalty")
      ->check(CLI::Range(-10.0f, 10.0f));
  app.add_option("--repeat-last-n", o->repeat_last_n, "tokens the penalties look back")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("-s,--seed", o->seed, "random seed; -1 = random")
      ->check(CLI::Range(int64_t{-1}, INT64_MAX));
  app.add_option("--stop", o->stop, "stop string (repeatable)")
      ->allow_extra_args(false);  // verbatim: CLI11 would read "[/AGENT]" as a list
  app.add_flag("--ignore-eos", o->ignore_eos, "do not stop at end-of-generation tokens");
}

GenerateOptions ToGenerateOptions(const SamplingOptions& o) {
  GenerateOptions g;
  g.max_tokens = o.n_predict;
  g.stop = o.stop;
  g.stop_at_end_of_generation = !o.ignore_eos;
  SamplingParams& s = g.sampling;
  s.temperature = o.temp;
  s.top_k = o.top_k;
  s.top_p = o.top_p;
  s.min_p = o.min_p;
  s.repeat_penalty = o.repeat_penalty;
  s.frequency_penalty = o.frequency_penalty;
  s.presence_penalty = o.presence_penalty;
  s.penalty_last_n = o.repeat_last_n;
  s.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device()();
  return g;
}

std::unique_ptr<Engine> OpenEngineOrReport(const char* prog, const ModelOptions& o) {
  EngineOptions opts;
  opts.model_path = o.model.empty() ? ODLM_DEFAULT_MODEL : o.model;
  if (o.model.empty() && !FileExists(opts.model_path)) {
    std::fprintf(stderr,
                 "%s: no -m given and the default model %s does not exist; build odlm first "
                 "(bash scripts/build.sh) or pass -m FILE.gguf\n",
                 prog, opts.model_path.c_str());
    return nullptr;
  }
  opts.n_threads = o.threads;
  opts.n_ctx = o.ctx;
  opts.kv_type = o.kv_type == "f32" ? DType::kF32 : DType::kF16;
  opts.mmap = !o.no_mmap;
  opts.repack_weights = !o.no_repack;
  for (const std::string& arg : o.lora) {
    AdapterSpec spec;
    std::string error;
    if (!ParseNamedLoraSpec(arg, &spec, &error)) {
      std::fprintf(stderr, "%s: --lora %s: %s\n", prog, arg.c_str(), error.c_str());
      return nullptr;
    }
    auto taken = [&](const std::string& name) {
      return std::any_of(opts.adapters.begin(), opts.adapters.end(),
                         [&](const AdapterSpec& a) { return a.name == name; });
    };
    if (!spec.name.empty() && taken(spec.name)) {
      std::fprintf(stderr, "%s: --lora %s: the name '%s' is given to two adapters\n", prog,
                   arg.c_str(), spec.name.c_str());
      return nullptr;
    }
    // The same unnamed file twice gets distinct names, so that both apply.
    if (spec.name.empty()) {
      const std::string stem = AdapterNameFromPath(spec.path);
      spec.name = stem;
      for (int i = 2; taken(spec.name); ++i) spec.name = stem + "#" + std::to_string(i);
    }
    opts.adapters.push_back(spec);
  }
  if (o.verbose) SetMinLogLevel(LogLevel::kInfo);
  auto engine = Engine::Open(opts);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s: cannot load model: %s\n", prog, engine.status().ToString().c_str());
    return nullptr;
  }
  if (o.verbose) std::fprintf(stderr, "%s: loaded %s\n", prog, (*engine)->Describe().c_str());
  if (o.verbose) {
    for (const AdapterInfo& info : (*engine)->ListAdapters()) {
      std::fprintf(stderr, "%s: adapter %s: %s\n", prog, info.name.c_str(),
                   info.description.c_str());
    }
  }
  return std::move(engine).value();
}

bool ParseLoraSpec(const std::string& arg, AdapterSpec* spec, std::string* error) {
  spec->path = arg;
  spec->scale = 1.0f;
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0) return true;
  const std::string tail = arg.substr(colon + 1);
  char* end = nullptr;
  const float scale = std::strtof(tail.c_str(), &end);
  const bool numeric = !tail.empty() && end == tail.c_str() + tail.size();
  if (!numeric) {
    // "dir:name" with no number after the colon is a path; "x.gguf:1.x" is a typo.
    if (!tail.empty() &&
        (std::isdigit(static_cast<unsigned char>(tail[0])) || tail[0] == '-' || tail[0] == '.')) {
      *error = "the scale '" + tail + "' is not a number (expected FILE[:SCALE], e.g. a.gguf:0.5)";
      return false;
    }
    return true;
  }
  if (!std::isfinite(scale)) {
    *error = "the scale must be a finite number";
    return false;
  }
  spec->path = arg.substr(0, colon);
  spec->scale = scale;
  return true;
}

bool ParseNamedLoraSpec(const std::string& arg, AdapterSpec* spec, std::string* error) {
  const size_t eq = arg.find('=');
  const bool named = eq != std::string::npos && eq > 0 && arg.find('/') > eq;
  if (!ParseLoraSpec(named ? arg.substr(eq + 1) : arg, spec, error)) return false;
  spec->name = named ? arg.substr(0, eq) : "";
  return true;
}

int ParseOrExit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::printf("%s", app.help().c_str());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\n(see %s --help)\n", app.get_name().c_str(), e.what(),
                 app.get_name().c_str());
    return kExitUsage;
  }
  return -1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

StatusOr<std::string> ApiKeyFromEnv(const std::string& var) {
  const char* key = std::getenv(var.c_str());
  if (key == nullptr || *key == '\0') {
    return InvalidArgumentError("--api-key-env " + var + ": the variable is not set");
  }
  return std::string(key);
}

}  // namespace odlm::cli
