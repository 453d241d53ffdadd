// tools/odlm/common_options.h — options shared by the commands that load a model (run, chat,
// perplexity, bench, serve): model path, threads, context, KV type, sampling; and by those that
// call a chat server (codi synth, eval --endpoint): the API key's variable.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "odlm/engine.h"
#include "odlm/generate.h"

namespace odlm::cli {

struct ModelOptions {
  std::string model;  // empty: the build's default model
  int threads = 0;
  int64_t ctx = 0;
  std::string kv_type = "f16";
  bool verbose = false;
  bool no_mmap = false;    // read the model into (huge-page) memory instead of mapping it
  bool no_repack = false;  // keep the row layout (EngineOptions::repack_weights = false)
  // --lora [NAME=]FILE[:SCALE] (repeatable): LoRA adapters (GGUF or PEFT directory) applied to
  // every session, each at its scale (default 1); NAME (default: the file's stem) is what
  // --compose refers to.
  std::vector<std::string> lora;
};

struct SamplingOptions {
  float temp = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t repeat_last_n = 64;
  int64_t seed = -1;  // -1: random
  std::vector<std::string> stop;
  bool ignore_eos = false;  // keep generating past end-of-generation tokens
  int32_t n_predict = 128;
};

void AddModelOptions(CLI::App& app, ModelOptions* o);
void AddSamplingOptions(CLI::App& app, SamplingOptions* o);

// The sampler settings, resolving seed -1 to a fresh random seed.
GenerateOptions ToGenerateOptions(const SamplingOptions& o);

// Splits "FILE[:SCALE]" into an adapter spec; false (with *error set) for a bad scale.
bool ParseLoraSpec(const std::string& arg, AdapterSpec* spec, std::string* error);
// Splits "[NAME=]FILE[:SCALE]": a NAME is a prefix before '=' with no '/' in it; without one,
// spec->name is left empty.
bool ParseNamedLoraSpec(const std::string& arg, AdapterSpec* spec, std::string* error);

// Opens the engine, printing a clear error (and returning nullptr) when it cannot. With verbose,
// prints the load summary to stderr.
std::unique_ptr<Engine> OpenEngineOrReport(const char* prog, const ModelOptions& o);

// The API key held by environment variable `var` (--api-key-env VAR): InvalidArgument naming the
// variable when it is unset or empty.
StatusOr<std::string> ApiKeyFromEnv(const std::string& var);

// Parses argv with CLI11; returns -1 to continue, or the exit code (0 for --help, 2 on errors).
int ParseOrExit(CLI::App& app, int argc, char** argv);

// The median of `v` (0 when empty), for benchmarks.
double Median(std::vector<double> v);

}  // namespace odlm::cli
