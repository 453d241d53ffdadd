// tools/odlm/cmd_train.cc — `odlm train lora|full`: fine-tuning and training from scratch on CPU
// (train/). Parses options, loads the model and the data, runs train::Trainer with a progress line,
// then writes the adapter (GGUF, optionally PEFT) or the model (GGUF) and the loss plot.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include "base/hash.h"
#include "base/thread_pool.h"
#include "command.h"
#include "common_options.h"
#include "gguf/gguf_reader.h"
#include "platform/file_util.h"
#include "platform/process_stats.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/dataset.h"
#include "train/model_io.h"
#include "train/trainer.h"
#include "train_plot.h"

namespace odlm::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

struct TrainArgs {
  std::string model, init, data, val, format = "auto", out, peft_out, out_type = "f32";
  std::string role_weights, targets = "q,k,v,o,gate,up,down", from_adapter, chat_template;
  std::string arithmetic = "auto";
  std::string schedule = "cosine", optimizer = "adamw", checkpoint_dir, log, plot, name;
  int32_t rank = 8, batch = 1, grad_accum = 1, ctx = 256, threads = 0;
  float alpha = 16, dropout = 0;
  double lr = 1e-3, epochs = 1, val_frac = 0, weight_decay = 0.01, momentum = 0, max_grad_norm = 1;
  double min_lr_ratio = 0.1, beta1 = 0.9, beta2 = 0.999;
  int64_t steps = 0, warmup = 0, checkpoint_every = 50, eval_every = 0;
  uint64_t seed = 0;
  bool resume = false, no_pack = false, checkpoint_activations = false, quiet = false;
  bool export_checkpoint = false;
};

void AddCommon(CLI::App* app, TrainArgs* a) {
  app->add_option("--data", a->data, "training data: CoDi JSONL, chat JSONL or text")->required();
  app->add_option("--format", a->format, "data format: auto, codi, chat or text")
      ->capture_default_str();
  app->add_option("--role-weights", a->role_weights,
                  "loss weight per role, e.g. CONTEXT=0,USER=0,AGENT=1 (default: the data's)");
  app->add_option("--chat-template", a->chat_template,
                  "template for chat JSONL (default: the model's own, else chatml)");
  app->add_option("--val", a->val, "validation data (same format)");
  app->add_option("--val-frac", a->val_frac, "hold out this share of --data for validation");
  app->add_option("--out", a->out, "output file")->required();
  app->add_option("--lr", a->lr, "peak learning rate")->capture_default_str();
  app->add_option("--steps", a->steps, "optimizer steps (default: from --epochs)");
  app->add_option("--epochs", a->epochs, "passes over the data when --steps is not given")
      ->capture_default_str();
  app->add_option("--batch", a->batch, "rows per micro-batch")->capture_default_str();
  app->add_option("--grad-accum", a->grad_accum, "micro-batches per optimizer step")
      ->capture_default_str();
  app->add_option("--ctx", a->ctx, "tokens per row (longer examples are cut)")
      ->capture_default_str();
  app->add_flag("--no-pack", a->no_pack, "one example per row instead of packing short ones");
  app->add_option("--seed", a->seed, "seed of shuffling, the split and initialisation")
      ->capture_default_str();
  app->add_option("--schedule", a->schedule, "constant, linear or cosine")->capture_default_str();
  app->add_option("--warmup", a->warmup, "linear warm-up steps")->capture_default_str();
  app->add_option("--min-lr-ratio", a->min_lr_ratio, "decay to lr times this")
      ->capture_default_str();
  app->add_option("--optimizer", a->optimizer, "adamw or sgd")->capture_default_str();
  app->add_option("--weight-decay", a->weight_decay, "decoupled weight decay")
      ->capture_default_str();
  app->add_option("--beta1", a->beta1, "AdamW beta1")->capture_default_str();
  app->add_option("--beta2", a->beta2, "AdamW beta2")->capture_default_str();
  app->add_option("--momentum", a->momentum, "SGD momentum")->capture_default_str();
  app->add_option("--max-grad-norm", a->max_grad_norm, "clip the global gradient norm (0: off)")
      ->capture_default_str();
  app->add_flag("--checkpoint-activations", a->checkpoint_activations,
                "keep only each layer's input and recompute the rest in backward (less memory)");
  app->add_option("--checkpoint-dir", a->checkpoint_dir, "write resumable checkpoints here");
  app->add_option("--checkpoint-every", a->checkpoint_every, "steps between checkpoints")
      ->capture_default_str();
  app->add_flag("--resume", a->resume, "continue from --checkpoint-dir's checkpoint");
  app->add_flag("--export-checkpoint", a->export_checkpoint,
                "write --out from --checkpoint-dir's checkpoint (same command line as the run) "
                "and exit, without training: the model of a run in progress or stopped");
  app->add_option("--eval-every", a->eval_every, "steps between validation losses (0: at the end)");
  app->add_option("--log", a->log, "JSONL of every step's metrics (default: OUT.train.jsonl)");
  app->add_option("--plot", a->plot, "SVG of the loss curves (written at the end)");
  app->add_option("-t,--threads", a->threads, "threads (default: all)");
  app->add_flag("-q,--quiet", a->quiet, "no progress line");
}

// FNV-1a over a file's bytes (the data) so a resume notices changed data.
// The start value is not FNV's offset basis (a digit short of it) but what checkpoint fingerprints
// have always used: changing it would refuse every existing checkpoint's resume.
uint64_t HashFile(const std::string& path) {
  constexpr uint64_t kFingerprintBasis = 1469598103934665603ull;
  auto text = ReadFileToString(path);
  return text.ok() ? Fnv1a64(*text, kFingerprintBasis) : 0;
}

std::string FormatDuration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  static_cast<int>(s) % 3600 / 60);
  }
  return buf;
}

int Fail(const char* prog, const Status& s) {
  std::fprintf(stderr, "%s: %s\n", prog, s.ToString().c_str());
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                 s.code() == StatusCode::kFailedPrecondition
             ? kExitUsage
             : kExitFailure;
}

int RunTraining(const char* prog, bool lora, TrainArgs& a) {
  using namespace train;
  if (lora && a.model.empty()) {
    std::fprintf(stderr, "%s: -m BASE.gguf is required\n", prog);
    return kExitUsage;
  }
  if (!lora && a.model.empty() == a.init.empty()) {
    std::fprintf(stderr, "%s: give either -m MODEL.gguf (fine-tune) or --init CONFIG.json\n", prog);
    return kExitUsage;
  }
  if (a.val_frac < 0 || a.val_frac >= 1) {
    std::fprintf(stderr, "%s: --val-frac must be in [0, 1)\n", prog);
    return kExitUsage;
  }
  if (!a.val.empty() && a.val_frac > 0) {
    std::fprintf(stderr, "%s: give --val or --val-frac, not both\n", prog);
    return kExitUsage;
  }
  if (a.ctx < 2 || a.batch < 1 || a.grad_accum < 1 || !(a.lr > 0) || a.steps < 0 ||
      !(a.epochs > 0)) {
    std::fprintf(stderr,
                 "%s: --ctx >= 2, --batch >= 1, --grad-accum >= 1, --lr > 0, "
                 "--epochs > 0 and --steps >= 0 are required\n",
                 prog);
    return kExitUsage;
  }
  std::optional<DType> out_type = ParseDType(a.out_type);
  if (!out_type) {
    std::fprintf(stderr, "%s: unknown --out-type %s\n", prog, a.out_type.c_str());
    return kExitUsage;
  }
  TrainerOptions o;
  {
    auto kind = ParseSchedule(a.schedule);
    if (!kind.ok()) return Fail(prog, kind.status());
    o.schedule.kind = *kind;
    auto opt = ParseOptimizer(a.optimizer);
    if (!opt.ok()) return Fail(prog, opt.status());
    o.optimizer.kind = *opt;
  }
  DataOptions dopt;
  {
    auto f = ParseDataFormat(a.format);
    if (!f.ok()) return Fail(prog, f.status());
    dopt.format = *f;
    if (!a.role_weights.empty()) {
      auto rw = ParseRoleWeights(a.role_weights);
      if (!rw.ok()) return Fail(prog, rw.status());
      dopt.role_weights = *rw;
    }
    dopt.max_tokens = a.ctx;
  }

  // The model: a file, or built from an init config.
  std::unique_ptr<GgufFile> file;
  InitialModel initial;
  if (!a.init.empty()) {
    auto m = BuildInitialModel(a.init);
    if (!m.ok()) return Fail(prog, m.status());
    initial = std::move(*m);
  } else {
    auto f = GgufFile::Open(a.model);
    if (!f.ok()) return Fail(prog, f.status());
    file = std::move(*f);
  }
  const GgufFile& source = file != nullptr ? *file : *initial.file;
  auto tokenizer = Tokenizer::FromGguf(source);
  if (!tokenizer.ok()) return Fail(prog, tokenizer.status());

  // Chat data renders with the model's own template unless --chat-template names one.
  dopt.chat_template = a.chat_template;
  if (dopt.chat_template.empty()) {
    auto jinja = source.GetString("tokenizer.chat_template");
    dopt.chat_template = jinja.ok() ? DetectChatTemplate(*jinja) : "";
    if (dopt.chat_template.empty()) dopt.chat_template = "chatml";
  }
  // --export-checkpoint needs the model and the checkpoint, not the data (only its hash).
  StatusOr<DataSet> data =
      a.export_checkpoint ? StatusOr<DataSet>(DataSet{}) : LoadDataSet(a.data, **tokenizer, dopt);
  if (!data.ok()) return Fail(prog, data.status());
  DataSet val;
  if (!a.export_checkpoint && !a.val.empty()) {
    auto v = LoadDataSet(a.val, **tokenizer, dopt);
    if (!v.ok()) return Fail(prog, v.status());
    val = std::move(*v);
  } else if (!a.export_checkpoint && a.val_frac > 0) {
    val = SplitValidation(&*data, a.val_frac, a.seed);
  }

  std::unique_ptr<TrainableModel> tm;
  if (lora) {
    LoraSpec spec;
    spec.rank = a.rank;
    spec.alpha = a.alpha;
    spec.dropout = a.dropout;
    spec.seed = a.seed;
    spec.from_adapter = a.from_adapter;
    auto arith = ParseBaseArithmetic(a.arithmetic);
    if (!arith.ok()) return Fail(prog, arith.status());
    spec.arithmetic = *arith;
    auto targets = ParseLoraTargets(a.targets);
    if (!targets.ok()) return Fail(prog, targets.status());
    spec.targets = *targets;
    ThreadPool setup_pool(a.threads > 0 ? a.threads : HardwareThreads());
    auto m = TrainableModel::Lora(source, spec, &setup_pool);
    if (!m.ok()) return Fail(prog, m.status());
    tm = std::move(*m);
  } else {
    auto m = TrainableModel::Full(source);
    if (!m.ok()) return Fail(prog, m.status());
    tm = std::move(*m);
    if (!a.init.empty()) InitializeParams(&tm->params(), tm->config().n_layer, a.seed);
  }

  o.steps = a.steps;
  o.epochs = a.epochs;
  o.batch = a.batch;
  o.grad_accum = a.grad_accum;
  o.ctx = a.ctx;
  o.pack = !a.no_pack;
  o.checkpoint_activations = a.checkpoint_activations;
  o.schedule.lr = a.lr;
  o.schedule.warmup_steps = a.warmup;
  o.schedule.min_lr_ratio = a.min_lr_ratio;
  o.optimizer.weight_decay = a.weight_decay;
  o.optimizer.momentum = a.momentum;
  o.optimizer.beta1 = a.beta1;
  o.optimizer.beta2 = a.beta2;
  o.max_grad_norm = a.max_grad_norm;
  o.checkpoint_dir = a.checkpoint_dir;
  o.checkpoint_every = a.checkpoint_every;
  o.resume = a.resume;
  o.eval_every = a.eval_every;
  o.seed = a.seed;
  o.log_path = a.log.empty() ? a.out + ".train.jsonl" : a.log;
  const int threads = a.threads > 0 ? a.threads : HardwareThreads();
  // Everything that shapes the trajectory (the thread count too: bit-exactness is per count).
  std::ostringstream fp;
  fp << "mode=" << (lora ? "lora" : "full") << " model=" << a.model << " init=" << a.init
     << " data=" << HashFile(a.data) << " val=" << a.val << "/" << a.val_frac << " fmt=" << a.format
     << " tmpl=" << dopt.chat_template << " rw=" << a.role_weights << " rank=" << a.rank
     << " alpha=" << a.alpha << " drop=" << a.dropout << " targets=" << a.targets
     << " from=" << a.from_adapter << " arith=" << a.arithmetic << " lr=" << a.lr
     << " steps=" << a.steps << " epochs=" << a.epochs << " batch=" << a.batch
     << " accum=" << a.grad_accum << " ctx=" << a.ctx << " pack=" << o.pack << " seed=" << a.seed
     << " sched=" << a.schedule << " warmup=" << a.warmup << " min=" << a.min_lr_ratio
     << " opt=" << a.optimizer << " wd=" << a.weight_decay << " b=" << a.beta1 << "/" << a.beta2
     << " mom=" << a.momentum << " clip=" << a.max_grad_norm << " threads=" << threads;
  o.fingerprint = fp.str();
  if (!a.checkpoint_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.checkpoint_dir, ec);
    if (ec) {
      std::fprintf(stderr, "%s: cannot create %s: %s\n", prog, a.checkpoint_dir.c_str(),
                   ec.message().c_str());
      return kExitFailure;
    }
  }

  if (a.export_checkpoint) {
    if (a.checkpoint_dir.empty()) {
      std::fprintf(stderr, "%s: --export-checkpoint needs --checkpoint-dir\n", prog);
      return kExitUsage;
    }
    Optimizer optimizer(o.optimizer);
    optimizer.Init(tm->params());
    TrainProgress progress;
    progress.fingerprint = o.fingerprint;
    Status st =
        LoadCheckpoint(CheckpointPath(a.checkpoint_dir), &tm->params(), &optimizer, &progress);
    if (st.ok()) {
      st = lora ? WriteTrainedAdapter(*tm->adapter(), a.out)
                : WriteTrainedModel(source, tm->params(), *out_type, a.name, a.out);
    }
    if (!st.ok()) return Fail(prog, st);
    std::fprintf(stderr, "%s: wrote %s from the checkpoint of step %lld (%lld tokens)\n", prog,
                 a.out.c_str(), static_cast<long long>(progress.step),
                 static_cast<long long>(progress.tokens));
    return kExitOk;
  }

  ThreadPool pool(threads);
  Trainer trainer(tm.get(), &*data, val.examples.empty() ? nullptr : &val, o, &pool);
  const DataStats& ds = data->stats;
  std::fprintf(
      stderr,
      "%s: %s, %lld trainable parameters; data: %lld examples (%lld tokens, %lld cut to "
      "%d, %lld without loss dropped) in %lld rows, validation %zu examples; %lld steps of "
      "%d×%d rows; %d threads\n",
      prog, tm->config().Summary().c_str(), static_cast<long long>(CountParams(tm->params())),
      static_cast<long long>(ds.examples), static_cast<long long>(ds.tokens),
      static_cast<long long>(ds.truncated), a.ctx, static_cast<long long>(ds.dropped_empty),
      static_cast<long long>(trainer.rows()), val.examples.size(),
      static_cast<long long>(trainer.total_steps()), a.batch, a.grad_accum, threads);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const bool tty = isatty(fileno(stderr));
  double last_print = -1;
  auto result = trainer.Run(
      [&](const StepMetrics& m) {
        if (a.quiet) return;
        const bool important = std::isfinite(m.val_loss) || m.step == m.total_steps;
        if (!important && m.elapsed_s - last_print < 1.0 && tty) return;
        last_print = m.elapsed_s;
        char val_text[32] = "";
        if (std::isfinite(m.val_loss))
          std::snprintf(val_text, sizeof val_text, " | val %.4f", m.val_loss);
        std::fprintf(stderr,
                     "%sstep %lld/%lld | loss %.4f%s | lr %.2e | |g| %.3f | %.0f tok/s | "
                     "%s elapsed | ETA %s%s",
                     tty ? "\r\033[K" : "", static_cast<long long>(m.step),
                     static_cast<long long>(m.total_steps), m.loss, val_text, m.lr, m.grad_norm,
                     m.tokens_per_s, FormatDuration(m.elapsed_s).c_str(),
                     FormatDuration(m.eta_s).c_str(), tty && !important ? "" : "\n");
      },
      [] { return g_stop.load(); });
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!result.ok()) return Fail(prog, result.status());
  if (result->step < trainer.total_steps()) {
    std::fprintf(stderr, "\n%s: stopped at step %lld of %lld%s\n", prog,
                 static_cast<long long>(result->step),
                 static_cast<long long>(trainer.total_steps()),
                 a.checkpoint_dir.empty() ? " (no --checkpoint-dir: nothing to resume from)"
                                          : "; continue with the same command and --resume");
    return kExitFailure;
  }

  Status st;
  if (lora) {
    st = WriteTrainedAdapter(*tm->adapter(), a.out);
    if (st.ok() && !a.peft_out.empty()) {
      st = WritePeftDirectory(*tm->adapter(), tm->model().LoraBase(), a.peft_out);
    }
  } else {
    st = WriteTrainedModel(source, tm->params(), *out_type, a.name, a.out);
  }
  if (!st.ok()) return Fail(prog, st);
  if (!a.plot.empty()) {
    st =
        WriteLossPlotSvg(o.log_path, a.plot, std::string("odlm train ") + (lora ? "lora" : "full"));
    if (!st.ok()) return Fail(prog, st);
  }
  const std::string val_text = std::isfinite(result->val_loss)
                                   ? ", validation loss " + std::to_string(result->val_loss)
                                   : "";
  std::printf(
      "wrote %s: %lld steps, final loss %.4f%s, %.0f tokens/s, peak RSS %.0f MiB, log %s%s%s\n",
      a.out.c_str(), static_cast<long long>(result->step), result->loss, val_text.c_str(),
      result->tokens_per_s, PeakResidentBytes() / 1048576.0, o.log_path.c_str(),
      a.plot.empty() ? "" : ", plot ", a.plot.c_str());
  return kExitOk;
}

int RunTrain(int argc, char** argv) {
  CLI::App app(
      "Train on CPU: a LoRA adapter on a frozen base (any block type), a full fine-tune, or a new "
      "model from scratch. The loss is CoDi's role-weighted cross-entropy: each predicted token "
      "is weighted by its role (--role-weights). Checkpoints resume bit for bit (--resume).",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm train lora -m base.gguf --data convs.jsonl --format codi --out task.gguf \\\n"
      "      --rank 16 --alpha 32 --targets q,k,v,o --lr 2e-4 --epochs 2 --ctx 512 \\\n"
      "      --role-weights CONTEXT=0,USER=0,AGENT=1 --val-frac 0.05 --checkpoint-dir ckpt\n"
      "  odlm train full -m small.gguf --data chat.jsonl --format chat --out tuned.gguf \\\n"
      "      --lr 5e-5 --steps 300 --batch 4 --grad-accum 2 --out-type bf16\n"
      "  odlm train full --init config.json --data corpus.txt --format text --out new.gguf \\\n"
      "      --lr 1e-3 --steps 2000 --warmup 100 --ctx 256 --batch 8 --plot loss.svg\n"
      "  (config.json: {\"arch\": \"llama\", \"dim\": 256, \"layers\": 4, \"heads\": 4,\n"
      "   \"kv_heads\": 2, \"ffn\": 768, \"vocab\": \"tokenizer.gguf\"})\n"
      "Ctrl-C stops after the current step (checkpointed with --checkpoint-dir).\n");
  app.require_subcommand(1);
  TrainArgs a;
  CLI::App* lora = app.add_subcommand("lora", "train a LoRA adapter on a frozen base model");
  lora->add_option("-m,--model", a.model, "base model (GGUF, any block type)")->required();
  lora->add_option("--rank", a.rank, "LoRA rank")->capture_default_str();
  lora->add_option("--alpha", a.alpha, "LoRA alpha (scaling alpha/rank)")->capture_default_str();
  lora->add_option("--dropout", a.dropout, "LoRA dropout on each adapted input (0 to <1)")
      ->capture_default_str();
  lora->add_option("--targets", a.targets, "projections: q,k,v,o,gate,up,down or all")
      ->capture_default_str();
  lora->add_option("--init-adapter", a.from_adapter,
                   "continue training this adapter (GGUF or PEFT directory)");
  lora->add_option("--base-arithmetic", a.arithmetic,
                   "products with the frozen base: auto (int8 for a quantized base where the CPU "
                   "has AVX-512 VNNI), f32 (exact "
                   "float math of the dequantized weights) or int8 (inference's kernels; backward "
                   "through a Q8_0 copy of each transposed weight)")
      ->capture_default_str();
  lora->add_option("--peft-out", a.peft_out, "also write a PEFT directory here");
  AddCommon(lora, &a);
  CLI::App* full = app.add_subcommand("full", "fine-tune every weight, or train from --init");
  full->add_option("-m,--model", a.model, "model to fine-tune (GGUF; dequantized to f32)");
  full->add_option("--init", a.init, "train a new model from this JSON config");
  full->add_option("--out-type", a.out_type, "block type of the written model: f32, f16, bf16")
      ->capture_default_str();
  full->add_option("--name", a.name, "general.name of the written model");
  AddCommon(full, &a);
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  return RunTraining(argv[0], lora->parsed(), a);
}

}  // namespace

ODLM_COMMAND("train", "train on CPU: LoRA, full fine-tuning or from scratch (role-weighted loss)",
             RunTrain);

}  // namespace odlm::cli
