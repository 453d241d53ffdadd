// tools/odlm/cmd_gen_model.cc — `odlm gen-model`: writes a deterministic random-weight llama or
// qwen2 model (model_gen/model_generator.h) that loads in odlm and in llama.cpp as it is.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "base/thread_pool.h"
#include "command.h"
#include "common_options.h"
#include "gguf/gguf_writer.h"
#include "model_gen/model_generator.h"

namespace odlm::cli {
namespace {

// True if `s` is a positive decimal integer (then --vocab is a size, not a file).
bool IsCount(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 9) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return v > 0;
}

int RunGenModel(int argc, char** argv) {
  CLI::App app(
      "Write a deterministic random-weight model (GGUF) of a chosen architecture, shape and "
      "block type. Its weights are random: its text is nonsense, but it exercises every code "
      "path and loads in llama.cpp unchanged.",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm gen-model -o tiny.gguf --preset tiny --type q8_0\n"
      "  odlm gen-model -o tl.gguf --preset tinyllama-1.1b --type q4_0    # 591 MiB\n"
      "  odlm gen-model -o q.gguf --arch qwen2 --dim 512 --layers 6 --heads 8 --kv-heads 2\n"
      "  odlm gen-model -o m.gguf --preset tiny --vocab vocab.gguf   # tokenizer copied from a "
      "GGUF file\n"
      "The planned file size is printed before writing; progress goes to stderr.\n");
  ModelGenOptions o;
  std::string output, preset, vocab;
  int threads = 0;
  app.add_option("-o,--output", output, "GGUF file to write (replaced crash-safely)")->required();
  app.add_option("--arch", o.arch, "architecture: llama, qwen2 or phi3 (fused Q/K/V and gate/up)")
      ->capture_default_str();
  app.add_option("--preset", preset, "shape preset: tiny or tinyllama-1.1b (flags below override)");
  auto* dim = app.add_option("--dim", o.n_embd, "embedding size")->capture_default_str();
  auto* layers = app.add_option("--layers", o.n_layer, "blocks")->capture_default_str();
  auto* heads = app.add_option("--heads", o.n_head, "attention heads")->capture_default_str();
  auto* kv_heads = app.add_option("--kv-heads", o.n_head_kv, "KV heads (default: --heads)");
  auto* ffn = app.add_option("--ffn", o.n_ff, "feed-forward size")->capture_default_str();
  auto* ctx = app.add_option("--ctx", o.n_ctx, "context length")->capture_default_str();
  app.add_option("--vocab", vocab,
                 "vocabulary: a size N for the built-in byte-level BPE vocabulary (default 512), "
                 "or a GGUF FILE whose tokenizer is copied");
  app.add_option("--type", o.type,
                 "block type: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K "
                 "q4_K_M")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_option("--rope-base", o.rope_freq_base, "RoPE base (default: llama 1e4, qwen2 1e6)");
  app.add_option("--name", o.name, "general.name");
  app.add_option("-t,--threads", threads, "threads (default: all)");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;

  // The preset sets the shape; explicitly given flags win over it.
  if (!preset.empty()) {
    const ModelGenOptions given = o;
    Status s = ApplyModelPreset(preset, &o);
    if (!s.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], s.message().c_str());
      return kExitUsage;
    }
    if (dim->count()) o.n_embd = given.n_embd;
    if (layers->count()) o.n_layer = given.n_layer;
    if (heads->count()) o.n_head = given.n_head;
    if (kv_heads->count()) o.n_head_kv = given.n_head_kv;
    if (ffn->count()) o.n_ff = given.n_ff;
    if (ctx->count()) o.n_ctx = given.n_ctx;
  }
  int64_t n_vocab = 0;
  if (IsCount(vocab, &n_vocab)) {
    o.n_vocab = n_vocab;
  } else if (!vocab.empty()) {
    o.vocab_file = vocab;
  }

  const auto start = std::chrono::steady_clock::now();
  auto seconds_since_start = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  ThreadPool pool(threads > 0 ? threads : HardwareThreads());
  GgufWriter writer;
  // Progress on stderr: a line rewritten in place on a terminal, otherwise a line every few
  // seconds; nothing for a file written in under two seconds (the build's default model).
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  double next_report_s = 2.0;
  bool reported = false;
  GenProgressFn progress = [&](int64_t done, int64_t total, uint64_t bytes_done,
                               uint64_t bytes_total) {
    const double now = seconds_since_start();
    const bool last = done == total;
    if (now < next_report_s && !(last && reported)) return;
    next_report_s = now + (tty ? 0.25 : 5.0);
    reported = true;
    std::fprintf(
        stderr, "%s  %3.0f%%  %.1f / %.1f MiB, tensor %lld of %lld, %.0f s%s", tty ? "\r" : "",
        bytes_total ? 100.0 * static_cast<double>(bytes_done) / bytes_total : 100.0,
        static_cast<double>(bytes_done) / (1 << 20), static_cast<double>(bytes_total) / (1 << 20),
        static_cast<long long>(done), static_cast<long long>(total), now, tty && !last ? "" : "\n");
    std::fflush(stderr);
  };
  Status s = BuildModel(o, &pool, &writer, progress);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  // The size up front: large presets take minutes on a small machine.
  std::printf("writing %s: %s, %zu tensors, %.1f MiB, type %s\n", output.c_str(), o.arch.c_str(),
              writer.tensor_count(), static_cast<double>(writer.FileSize()) / (1 << 20),
              o.type.c_str());
  std::fflush(stdout);
  s = writer.WriteFile(output);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], s.ToString().c_str());
    return kExitFailure;
  }
  const double secs = seconds_since_start();
  std::printf("wrote %s: %s, %zu tensors, %.1f MiB, type %s, seed %llu (%.1f s)\n", output.c_str(),
              o.arch.c_str(), writer.tensor_count(),
              static_cast<double>(writer.FileSize()) / (1 << 20), o.type.c_str(),
              static_cast<unsigned long long>(o.seed), secs);
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("gen-model", "write a deterministic random-weight model (GGUF)", RunGenModel);

}  // namespace odlm::cli
