// tools/odlm/cmd_bench_train.cc — `odlm bench-train`: training speed and memory on this machine.
//
// Two cases, the shapes of docs/PERFORMANCE.md's PyTorch anchors (scripts/bench_train_torch.py runs
// the same shapes in PyTorch):
//   full  full fine-tuning (AdamW) of a 12.6M-parameter llama: dim 384, 6 layers, 6 heads, 2 KV
//         heads, FFN 1024, vocab 4096; batch 4 × 256 tokens of random ids
//   lora  LoRA rank 16 on all seven projections of a frozen TinyLlama-1.1B-shaped base (Q4_0 by
//         default), batch 1 × 256
// Models are generated (odlm gen-model's code, random weights) unless given with --full-model /
// --lora-model. Each case runs --warmup steps, then --steps timed steps (forward, backward, clip,
// AdamW); reports the median step's tokens/s, the model FLOPs per step and the GFLOP/s they imply,
// the f32 GEMM rate measured in the same run (kernels/matmul_float.h on a large shape) as this
// machine's reachable peak, and peak RSS.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "base/check.h"
#include "base/thread_pool.h"
#include "command.h"
#include "common_options.h"
#include "gguf/gguf_writer.h"
#include "kernels/matmul_float.h"
#include "model_gen/model_generator.h"
#include "platform/process_stats.h"
#include "train/forward_backward.h"
#include "train/optimizer.h"
#include "train/trainable_model.h"

namespace odlm::cli {
namespace {

double Seconds(int64_t t0) { return (MonotonicNanos() - t0) * 1e-9; }

// GFLOP/s of AccumulateOuter + MatMulTransposed + MatMulFloat on 2048×2048 f32 with 256 tokens.
double MeasureGemmPeak(ThreadPool* pool) {
  const int64_t n = 2048, t = 256;
  std::vector<float> w(n * n, 0.01f), x(t * n, 0.5f), y(t * n), dw(n * n);
  const kernels::WeightMatrix wm{DType::kF32, w.data(), n, n, n * 4};
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    const int64_t t0 = MonotonicNanos();
    kernels::MatMulFloat(wm, x.data(), t, y.data(), pool);
    kernels::MatMulTransposed(wm, y.data(), t, x.data(), false, pool);
    kernels::AccumulateOuter(y.data(), n, x.data(), n, t, dw.data(), pool);
    rates.push_back(3.0 * 2 * n * n * t / Seconds(t0) * 1e-9);
  }
  return *std::max_element(rates.begin(), rates.end());
}

struct CaseResult {
  std::string name, model;
  int64_t params = 0, trainable = 0, tokens_per_step = 0;
  double tokens_per_s = 0, step_s = 0, gflop_per_step = 0, peak_rss_mib = 0;
};

// Model FLOPs of one training step: products 2·params per token forward, 2 more for dx, 2 more for
// dW when the matrices are trained; attention 4·n_head·hd·(T+1)/2 per token and layer forward and
// twice that backward; plus one forward more with activation checkpointing.
double StepFlops(const ModelConfig& c, bool full, int64_t seq, int64_t n_seq, bool checkpoint,
                 int64_t lora_params) {
  const double d = c.n_embd, ff = c.n_ff, qd = c.q_dim(), kvd = c.kv_dim();
  const double layer = d * qd * 2 + d * kvd * 2 + 3 * d * ff;
  const double matrices = c.n_layer * layer + static_cast<double>(c.n_vocab) * d;
  const double attn = 4.0 * c.n_head * c.head_dim * (seq + 1) / 2.0 * c.n_layer;
  const double tokens = static_cast<double>(seq) * n_seq;
  const double fwd = (2 * matrices + attn) * tokens;
  double total = fwd + (2 * matrices + 2 * attn) * tokens;
  if (full) total += 2 * matrices * tokens;
  total += 6.0 * lora_params * tokens;
  if (checkpoint) total += fwd;
  return total;
}

StatusOr<CaseResult> RunCase(const std::string& name, const std::string& path, bool full,
                             int64_t seq, int64_t n_seq, int warmup, int steps, bool checkpoint,
                             train::BaseArithmetic arithmetic, ThreadPool* pool) {
  ASSIGN_OR_RETURN(auto file, GgufFile::Open(path));
  std::unique_ptr<train::TrainableModel> tm;
  if (full) {
    ASSIGN_OR_RETURN(tm, train::TrainableModel::Full(*file));
  } else {
    train::LoraSpec spec;
    spec.rank = 16;
    spec.alpha = 32;
    spec.arithmetic = arithmetic;
    ASSIGN_OR_RETURN(tm, train::TrainableModel::Lora(*file, spec, pool));
  }
  const ModelConfig& c = tm->config();
  std::mt19937 rng(1);
  std::vector<std::vector<int32_t>> tokens(n_seq, std::vector<int32_t>(seq));
  std::vector<float> weights(seq, 1.0f);
  std::vector<train::TrainSequence> batch;
  for (auto& s : tokens) {
    for (int32_t& t : s) t = static_cast<int32_t>(rng() % c.n_vocab);
    batch.push_back({s.data(), weights.data(), static_cast<int32_t>(seq)});
  }
  train::ForwardBackward fb(tm.get());
  train::ForwardBackwardOptions fo;
  fo.checkpoint = checkpoint;
  train::Optimizer opt(train::OptimizerOptions{});
  opt.Init(tm->params());
  std::vector<double> times;
  for (int i = 0; i < warmup + steps; ++i) {
    const int64_t t0 = MonotonicNanos();
    train::ZeroGrads(&tm->params());
    ASSIGN_OR_RETURN(train::LossSum s, fb.Run(batch, (seq - 1.0) * n_seq, fo, pool));
    train::ClipGradNorm(&tm->params(), 1.0, nullptr);
    opt.Step(&tm->params(), 1e-4, pool);
    if (i >= warmup) times.push_back(Seconds(t0));
    std::fprintf(stderr, "  %s step %d: %.2f s, loss %.3f\n", name.c_str(), i + 1, Seconds(t0),
                 s.weighted_loss / s.weight);
  }
  CaseResult r;
  r.name = name;
  r.model = path;
  for (const auto& t : file->tensors()) r.params += t.n_elements;
  r.trainable = train::CountParams(tm->params());
  r.tokens_per_step = seq * n_seq;
  r.step_s = Median(times);
  r.tokens_per_s = r.tokens_per_step / r.step_s;
  r.gflop_per_step = StepFlops(c, full, seq, n_seq, checkpoint, full ? 0 : r.trainable) * 1e-9;
  r.peak_rss_mib = PeakResidentBytes() / 1048576.0;
  return r;
}

Status Generate(const ModelGenOptions& o, const std::string& path, ThreadPool* pool) {
  GgufWriter w;
  RETURN_IF_ERROR(BuildModel(o, pool, &w));
  return w.WriteFile(path);
}

int RunBenchTrain(int argc, char** argv) {
  CLI::App app(
      "Training speed: full fine-tuning of a 12.6M llama (batch 4 x 256) and LoRA rank 16 on a "
      "TinyLlama-1.1B-shaped base (batch 1 x 256), tokens/s, GFLOP/s and peak memory.",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm bench-train --case full -t 2\n"
      "  odlm bench-train --case lora --lora-type q4_0 --lora-model /tmp/tl-q4_0.gguf\n"
      "Generated models are written to --work-dir and reused when present.\n");
  std::string arithmetic_name = "auto";
  std::string which = "all", full_model, lora_model, lora_type = "q4_0", work_dir = "/tmp";
  int threads = 0, steps = 3, warmup = 1;
  int64_t ctx = 256;
  bool json = false, checkpoint = false;
  app.add_option("--case", which, "full, lora or all")->capture_default_str();
  app.add_option("--full-model", full_model, "model for the full case (default: generated)");
  app.add_option("--lora-model", lora_model, "base for the LoRA case (default: generated)");
  app.add_option("--lora-type", lora_type, "block type of the generated LoRA base")
      ->capture_default_str();
  app.add_option("--work-dir", work_dir, "where generated models are kept")->capture_default_str();
  app.add_option("--ctx", ctx, "tokens per sequence")->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str();
  app.add_option("--base-arithmetic", arithmetic_name, "LoRA base products: auto, f32 or int8")
      ->capture_default_str();
  app.add_flag("--checkpoint-activations", checkpoint, "recompute each layer in backward");
  app.add_option("-t,--threads", threads, "threads (default: all)");
  app.add_flag("--json", json, "print one JSON object");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  if (steps < 1 || ctx < 2) {
    std::fprintf(stderr, "%s: --steps >= 1 and --ctx >= 2\n", argv[0]);
    return kExitUsage;
  }
  auto arith = train::ParseBaseArithmetic(arithmetic_name);
  if (!arith.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], arith.status().message().c_str());
    return kExitUsage;
  }
  ThreadPool pool(threads > 0 ? threads : HardwareThreads());
  std::vector<CaseResult> results;
  auto run = [&](const std::string& name, std::string path, const ModelGenOptions& gen, bool full,
                 int64_t n_seq) -> int {
    if (path.empty()) {
      path = work_dir + "/odlm-bench-train-" + name + "-" + gen.type + ".gguf";
      if (!std::filesystem::exists(path)) {
        std::fprintf(stderr, "generating %s ...\n", path.c_str());
        const Status st = Generate(gen, path, &pool);
        if (!st.ok()) {
          std::fprintf(stderr, "%s: %s\n", argv[0], st.ToString().c_str());
          return kExitFailure;
        }
      }
    }
    auto r = RunCase(name, path, full, ctx, n_seq, warmup, steps, checkpoint, *arith, &pool);
    if (!r.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], r.status().ToString().c_str());
      return kExitFailure;
    }
    results.push_back(*r);
    return kExitOk;
  };
  if (which == "full" || which == "all") {
    ModelGenOptions g;
    g.n_embd = 384;
    g.n_layer = 6;
    g.n_head = 6;
    g.n_head_kv = 2;
    g.n_ff = 1024;
    g.n_vocab = 4096;
    g.n_ctx = 1024;
    g.type = "f32";
    if (int rc = run("full", full_model, g, true, 4); rc != kExitOk) return rc;
  }
  if (which == "lora" || which == "all") {
    ModelGenOptions g;
    const Status st = ApplyModelPreset("tinyllama-1.1b", &g);
    CHECK(st.ok());
    g.type = lora_type;
    if (int rc = run("lora", lora_model, g, false, 1); rc != kExitOk) return rc;
  }
  if (results.empty()) {
    std::fprintf(stderr, "%s: --case must be full, lora or all\n", argv[0]);
    return kExitUsage;
  }
  const double peak = MeasureGemmPeak(&pool);
  nlohmann::json rows = nlohmann::json::array();
  for (const CaseResult& r : results) {
    const double gflops = r.gflop_per_step / r.step_s;
    rows.push_back({{"case", r.name},
                    {"model", r.model},
                    {"params", r.params},
                    {"trainable_params", r.trainable},
                    {"tokens_per_step", r.tokens_per_step},
                    {"step_s", r.step_s},
                    {"tokens_per_s", r.tokens_per_s},
                    {"gflop_per_step", r.gflop_per_step},
                    {"gflop_s", gflops},
                    {"share_of_gemm_peak", gflops / peak},
                    {"peak_rss_mib", r.peak_rss_mib}});
  }
  if (json) {
    std::printf("%s\n", nlohmann::json({{"threads", pool.num_threads()},
                                        {"kernel_variant", kernels::MatMulFloatVariant()},
                                        {"f32_gemm_peak_gflop_s", peak},
                                        {"checkpoint_activations", checkpoint},
                                        {"cases", rows}})
                            .dump(2)
                            .c_str());
    return kExitOk;
  }
  std::printf("threads %d, f32 kernels %s, measured f32 GEMM peak %.1f GFLOP/s%s\n",
              pool.num_threads(), std::string(kernels::MatMulFloatVariant()).c_str(), peak,
              checkpoint ? ", activation checkpointing" : "");
  std::printf("%-5s %12s %10s %8s %10s %9s %8s %9s\n", "case", "params", "trainable", "tok/step",
              "tokens/s", "GFLOP/s", "of peak", "peak RSS");
  for (const auto& row : rows) {
    std::printf("%-5s %11.1fM %9.2fM %8lld %10.1f %9.1f %7.0f%% %6.0f MiB\n",
                row["case"].get<std::string>().c_str(), row["params"].get<double>() / 1e6,
                row["trainable_params"].get<double>() / 1e6,
                static_cast<long long>(row["tokens_per_step"].get<int64_t>()),
                row["tokens_per_s"].get<double>(), row["gflop_s"].get<double>(),
                100 * row["share_of_gemm_peak"].get<double>(), row["peak_rss_mib"].get<double>());
  }
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("bench-train", "training speed: full fine-tuning and LoRA tokens/s vs the f32 peak",
             RunBenchTrain);

}  // namespace odlm::cli
