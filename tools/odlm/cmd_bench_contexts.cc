// tools/odlm/cmd_bench_contexts.cc — `odlm bench-contexts`: context-switch benchmark of the KV
// policies (llms | recompute | swap | resident) on one synthetic trace of app calls.
//
// N contexts get histories of min..max tokens (set up once per policy, untimed): random tokens, or
// with --history-text FILE consecutive passages of FILE's text, so that the quality figures are
// about language and not noise. Then
// a trace of calls: Poisson arrival gaps (recorded; calls are served back to back) and a context
// choice that is random, Markov (sticky: stay with probability 0.5, else uniform) or skewed
// (Zipf 1.0). Each call appends a prompt of --prompt tokens (random tokens; with --history-text the
// text that follows its context's passage so far; with --prompt-text FILE the next tokens of that
// file); its switch latency is call start
// → first token's logits (Acquire + prompt prefill). Quality: KL of each call's next-token
// distribution vs the resident policy on the same trace, and perplexity of the prompt tokens.
// Then, per compression level alone (8/4/2-bit: every chunk of each history at that level, its
// first prompt evaluated on top), the same KL and perplexity against fp16, next to the level's
// size, the tolerance model's expected error (kv/tolerance.h) and the share of llms' chunks that
// ended at that level — how the overall figure decomposes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <span>

#include "CLI/CLI.hpp"
#include "command.h"
#include "common_options.h"
#include "kv/tolerance.h"
#include "odlm/context_memory.h"
#include "platform/file_util.h"
#include "svg_writer.h"

namespace odlm::cli {
namespace {

// One policy on one segment of the trace (one context choice).
struct PhaseResult {
  std::vector<double> latency_ms;          // call start → first token's logits
  std::vector<double> restore_ms;          // call start → KV restored (Acquire alone)
  std::vector<std::vector<float>> logits;  // per call: last token's row
  double nll = 0;                          // of the prompts' tokens (teacher forced)
  int64_t nll_n = 0;
  ContextMemoryStats stats;  // bytes and chunk counts: this segment's; peak: the run's so far
};

struct PolicyResult {
  std::string name;
  std::vector<PhaseResult> phases;
};

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// KL(a ‖ b) of the distributions two logits rows give.
double Kl(std::span<const float> a, std::span<const float> b) {
  const float ma = *std::max_element(a.begin(), a.end()),
              mb = *std::max_element(b.begin(), b.end());
  double za = 0, zb = 0;
  for (size_t i = 0; i < a.size(); ++i) za += std::exp(a[i] - ma), zb += std::exp(b[i] - mb);
  double kl = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double la = a[i] - ma - std::log(za), lb = b[i] - mb - std::log(zb);
    kl += std::exp(la) * (la - lb);
  }
  return kl;
}

// Log-probability of `token` under a logits row.
double LogProb(const float* row, int32_t n_vocab, int32_t token) {
  const float mx = *std::max_element(row, row + n_vocab);
  double z = 0;
  for (int32_t v = 0; v < n_vocab; ++v) z += std::exp(row[v] - mx);
  return row[token] - mx - std::log(z);
}

// Quality of one compression level on its own: every chunk of each history at `level` (raw: the
// reference), then the continuation evaluated on top; KL per continuation position vs raw and the
// continuation's own log-likelihood.
struct LevelQuality {
  KvLevel level;
  double kl = 0, nll = 0;
  int64_t kl_n = 0, nll_n = 0;
};

Status MeasureLevelQuality(Engine& engine, const std::vector<std::vector<int32_t>>& histories,
                           const std::vector<std::vector<int32_t>>& continuations,
                           std::vector<LevelQuality>* out) {
  const int32_t n_vocab = engine.config().n_vocab;
  std::vector<std::vector<float>> reference(histories.size());
  for (LevelQuality& q : *out) {
    for (size_t c = 0; c < histories.size(); ++c) {
      std::unique_ptr<Session> s = engine.NewSession();
      std::vector<float> logits;
      RETURN_IF_ERROR(engine.Eval(*s, histories[c], false, &logits));
      KvCache& kv = s->kv();
      const KvChunkShape shape{.n_layer = kv.shape().n_full_layers(),
                               .kv_dim = kv.shape().kv_dim,
                               .chunk_tokens = kv.shape().chunk_tokens,
                               .type = kv.shape().type};
      std::vector<uint8_t> packed(shape.compressed_bytes(q.level));
      const int64_t n = s->n_tokens();
      for (int64_t i = 0; i < kv.n_chunks(); ++i) {
        const int32_t n_valid =
            static_cast<int32_t>(std::min<int64_t>(shape.chunk_tokens, n - i * shape.chunk_tokens));
        CompressKvChunk(shape, q.level, kv.chunk_data(i), n_valid, packed);
        DecompressKvChunk(shape, q.level, packed, n_valid, kv.chunk_data(i));
      }
      RETURN_IF_ERROR(engine.Eval(*s, continuations[c], true, &logits));
      if (q.level == KvLevel::kRaw) reference[c] = logits;
      const std::vector<int32_t>& next = continuations[c];
      for (size_t j = 0; j < next.size(); ++j) {
        const size_t row = j * static_cast<size_t>(n_vocab);
        q.kl += Kl(std::span<const float>(reference[c]).subspan(row, n_vocab),
                   std::span<const float>(logits).subspan(row, n_vocab));
        q.kl_n++;
        if (j + 1 < next.size()) {
          q.nll -= LogProb(logits.data() + row, n_vocab, next[j + 1]);
          q.nll_n++;
        }
      }
    }
  }
  return Status::Ok();
}

struct BarGroup {
  std::string name;            // a policy
  std::vector<double> values;  // one per series, > 0 (ms)
};

// A grouped bar chart with a log-scale y axis (milliseconds), one group per policy.
Status WriteBarChartSvg(const std::string& path, const std::string& title,
                        const std::vector<std::string>& series,
                        const std::vector<BarGroup>& groups) {
  const char* colors[] = {"#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c", "#98df8a"};
  const double left = 70, right = 20, top = 50, bottom = 60, h = 420;
  const double w = std::max<double>(760, left + right + 90.0 * groups.size());
  constexpr double kFloor = 0.1;  // ms: smaller values (resident's restore) draw as no bar
  double lo = 1e30, hi = kFloor;
  for (const BarGroup& g : groups) {
    for (double v : g.values) {
      if (v >= kFloor) lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  const double d_lo = std::floor(std::log10(std::min(lo, hi))), d_hi = std::ceil(std::log10(hi));
  const double span = std::max(1.0, d_hi - d_lo);
  auto y_of = [&](double v) {
    const double d = v >= kFloor ? std::log10(v) : d_lo;
    return top + (h - top - bottom) * (1 - (std::max(d, d_lo) - d_lo) / span);
  };
  SvgWriter o(w, h);
  o.Add("<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n", w / 2,
        title.c_str());
  for (double d = d_lo; d <= d_lo + span + 1e-9; d += 1) {
    const double y = y_of(std::pow(10.0, d));
    o.Add("<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left,
          w - right, y, y);
    o.Add("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g ms</text>\n", left - 6, y + 4,
          std::pow(10.0, d));
  }
  const double group_w = (w - left - right) / std::max<size_t>(1, groups.size());
  const double bar_w = group_w * 0.8 / std::max<size_t>(1, series.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const double x0 = left + g * group_w + group_w * 0.1;
    for (size_t k = 0; k < groups[g].values.size() && k < series.size(); ++k) {
      const double v = groups[g].values[k], y = y_of(v);
      o.Add("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
            x0 + k * bar_w, y, bar_w - 1, h - bottom - y, colors[k % 6]);
      o.Add("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\">%.3g</text>\n",
            x0 + (k + 0.5) * bar_w, y - 3, v);
    }
    o.Add("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", x0 + group_w * 0.4,
          h - bottom + 16, groups[g].name.c_str());
  }
  for (size_t k = 0; k < series.size(); ++k) {
    o.Add("<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n",
          left + k * 150.0, h - 22, colors[k % 6]);
    o.Add("<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", left + k * 150.0 + 14, h - 13,
          series[k].c_str());
  }
  return WriteFileAtomically(path, o.Finish());
}

struct Summary {
  double mean = 0, p99 = 0;
};

Summary Summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  for (double x : v) s.mean += x / static_cast<double>(v.size());
  s.p99 = v[std::min<size_t>(v.size() - 1, static_cast<size_t>(0.99 * v.size()))];
  return s;
}

// Everything the command line sets, and what follows from it.
struct BenchOptions {
  ModelOptions model;
  int contexts = 8, calls = 40, prompt = 16;
  int64_t min_tokens = 256, max_tokens = 2048;
  double budget_frac = 0.25, ratio = 0.6, rate = 1.0;
  std::string choice = "skewed", swap_dir = "/tmp/odlm-bench-contexts", policies_arg;
  bool quick = false, no_warm = false, json = false, special = false, no_levels = false;
  uint64_t seed = 1;
  std::string svg_path, history_text, prompt_text;
  // Derived by FinishOptions:
  std::vector<std::string> phases;  // one trace segment of `calls` per choice
  std::vector<KvPolicy> policies;   // resident first: the quality reference

  int n_calls() const { return calls * static_cast<int>(phases.size()); }
};

void AddBenchOptions(CLI::App& app, BenchOptions* o) {
  AddModelOptions(app, &o->model);
  app.add_option("--contexts", o->contexts, "contexts")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--calls", o->calls, "calls in the trace")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--min-tokens", o->min_tokens, "shortest history")->capture_default_str();
  app.add_option("--max-tokens", o->max_tokens, "longest history")->capture_default_str();
  app.add_option("--prompt", o->prompt, "tokens each call appends")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--budget-frac", o->budget_frac,
                 "KV budget as a fraction of all contexts' fp16 KV")
      ->capture_default_str();
  app.add_option("--ratio", o->ratio, "llms compression ratio (of 8-bit size)")
      ->capture_default_str();
  app.add_option("--rate", o->rate, "Poisson arrival rate (calls/s)")->capture_default_str();
  app.add_option("--choice", o->choice,
                 "random | markov | skewed | all (three segments of --calls, one per choice, "
                 "reported apart)")
      ->capture_default_str();
  app.add_option("--swap-dir", o->swap_dir, "swap directory (emptied first)")
      ->capture_default_str();
  app.add_option("--policies", o->policies_arg,
                 "comma list of llms, swap, recompute (resident always runs: the reference; "
                 "default all)");
  app.add_option("--seed", o->seed, "trace seed")->capture_default_str();
  app.add_option("--history-text", o->history_text,
                 "histories are consecutive passages of this text file (tokenized by the model), "
                 "and each call's prompt the text that follows its context's passage so far")
      ->check(CLI::ExistingFile);
  app.add_option("--prompt-text", o->prompt_text,
                 "each call's prompt is the next --prompt tokens of this text file instead")
      ->check(CLI::ExistingFile);
  app.add_flag("--special", o->special,
               "text files may name the model's special tokens (\"[USER]\", \"<|im_start|>\"): "
               "parse them as those tokens, as a chat template does");
  app.add_flag("--no-levels", o->no_levels,
               "skip the per-level table (each history with every chunk at one level)");
  app.add_option("--svg", o->svg_path, "also write a bar chart of the latencies (log scale) here");
  app.add_flag("--quick", o->quick, "4 contexts of 64..256 tokens, 16 calls");
  app.add_flag("--json", o->json, "print one JSON object instead of the tables");
  app.add_flag("--no-warm", o->no_warm,
               "llms frees each context's working cache when its call ends (no warm follow-up)");
}

// Applies --quick, checks the ranges and derives the phases and policies (InvalidArgument: a
// usage error).
Status FinishOptions(BenchOptions* o) {
  if (o->quick) o->contexts = 4, o->calls = 16, o->min_tokens = 64, o->max_tokens = 256;
  if (o->min_tokens < 1 || o->max_tokens < o->min_tokens) {
    return InvalidArgumentError("need 1 <= --min-tokens <= --max-tokens");
  }
  o->phases = {o->choice};
  if (o->choice == "all") o->phases = {"random", "markov", "skewed"};
  for (const std::string& c : o->phases) {
    if (c != "random" && c != "markov" && c != "skewed") {
      return InvalidArgumentError("--choice must be random, markov, skewed or all");
    }
  }
  o->policies = {KvPolicy::kResident, KvPolicy::kLlms, KvPolicy::kSwap, KvPolicy::kRecompute};
  if (!o->policies_arg.empty()) {
    o->policies = {KvPolicy::kResident};  // always: the quality reference
    std::string rest = o->policies_arg;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      ASSIGN_OR_RETURN(KvPolicy p, ParseKvPolicy(rest.substr(0, comma)));
      if (p != KvPolicy::kResident) o->policies.push_back(p);
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
  }
  if (o->model.ctx == 0) {
    o->model.ctx = o->max_tokens + static_cast<int64_t>(o->n_calls()) * o->prompt + 16;
  }
  return Status::Ok();
}

// The contexts' histories and the trace of calls: which context each call goes to and the
// tokens it appends.
struct Workload {
  std::vector<std::vector<int32_t>> histories;
  std::vector<int> trace;                     // per call: its context
  std::vector<std::vector<int32_t>> prompts;  // per call
  int64_t total_tokens = 0;                   // of the histories
};

// A text file's tokens, read cyclically from a cursor (real-text histories and prompts).
struct TextTokens {
  std::vector<int32_t> ids;
  size_t next = 0;
  std::vector<int32_t> Take(int64_t n) {
    std::vector<int32_t> t(n);
    for (auto& x : t) x = ids[next++ % ids.size()];
    return t;
  }
};

StatusOr<TextTokens> ReadTextTokens(const Engine& engine, const std::string& path, bool special) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  TextTokens t;
  t.ids = engine.tokenizer().Encode(text, /*add_bos=*/false, /*parse_special=*/special);
  if (t.ids.size() < 2) {
    return InvalidArgumentError(path + " holds no text to build contexts from");
  }
  return t;
}

// Draws the workload from the seed (the same seed gives the same workload as earlier versions:
// the draws are made in the same order).
StatusOr<Workload> BuildWorkload(const Engine& engine, const BenchOptions& o) {
  std::mt19937_64 rng(o.seed);
  const int32_t n_vocab = engine.config().n_vocab;
  auto random_tokens = [&](int64_t n) {
    std::vector<int32_t> t(n);
    for (auto& x : t) x = 3 + static_cast<int32_t>(rng() % (n_vocab - 3));
    return t;
  };
  TextTokens history_source, prompt_source;
  if (!o.history_text.empty()) {
    ASSIGN_OR_RETURN(history_source, ReadTextTokens(engine, o.history_text, o.special));
  }
  if (!o.prompt_text.empty()) {
    ASSIGN_OR_RETURN(prompt_source, ReadTextTokens(engine, o.prompt_text, o.special));
  }
  Workload w;
  // With --history-text each context owns a passage: its history, then its calls' prompts.
  std::vector<size_t> passage_cursor(o.contexts, 0);
  w.histories.resize(o.contexts);
  for (int c = 0; c < o.contexts; ++c) {
    const int64_t n =
        o.min_tokens + static_cast<int64_t>(rng() % (o.max_tokens - o.min_tokens + 1));
    if (history_source.ids.empty()) {
      w.histories[c] = random_tokens(n);
    } else {
      w.histories[c] = history_source.Take(n);
      passage_cursor[c] = history_source.next;
      history_source.next += static_cast<size_t>(o.n_calls()) * o.prompt;  // its prompts
    }
    w.total_tokens += n;
  }
  // The trace. Arrival gaps are drawn (and not used: calls are served back to back) so that a
  // seed keeps giving the same contexts.
  std::exponential_distribution<double> gap(o.rate);
  std::vector<double> zipf(o.contexts);
  for (int i = 0; i < o.contexts; ++i) zipf[i] = 1.0 / (i + 1);
  std::discrete_distribution<int> skew(zipf.begin(), zipf.end());
  int cur = 0;
  for (int i = 0; i < o.n_calls(); ++i) {
    const std::string& ch = o.phases[i / o.calls];
    if (ch == "random") {
      cur = static_cast<int>(rng() % o.contexts);
    } else if (ch == "markov") {
      if (rng() % 2 == 0) cur = static_cast<int>(rng() % o.contexts);
    } else {
      cur = skew(rng);
    }
    w.trace.push_back(cur);
    (void)gap(rng);
  }
  for (int i = 0; i < o.n_calls(); ++i) {
    if (!prompt_source.ids.empty()) {
      w.prompts.push_back(prompt_source.Take(o.prompt));
    } else if (!history_source.ids.empty()) {
      history_source.next = passage_cursor[w.trace[i]];
      w.prompts.push_back(history_source.Take(o.prompt));
      passage_cursor[w.trace[i]] = history_source.next;
    } else {
      w.prompts.push_back(random_tokens(o.prompt));
    }
  }
  return w;
}

// Each level alone: every called history at that level, its first call's prompt on top.
StatusOr<std::vector<LevelQuality>> MeasureEachLevel(Engine& engine, const BenchOptions& o,
                                                     const Workload& w) {
  std::vector<std::vector<int32_t>> histories, continuations;
  for (int c = 0; c < o.contexts; ++c) {
    const auto first = std::find(w.trace.begin(), w.trace.end(), c);
    if (first == w.trace.end()) continue;
    histories.push_back(w.histories[c]);
    continuations.push_back(w.prompts[first - w.trace.begin()]);
  }
  std::vector<LevelQuality> levels;
  for (KvLevel l : {KvLevel::kRaw, KvLevel::k8, KvLevel::k4, KvLevel::k2}) levels.push_back({l});
  RETURN_IF_ERROR(MeasureLevelQuality(engine, histories, continuations, &levels));
  return levels;
}

// One policy over the whole trace: set-up (untimed), then each call timed, its last logits and
// the prompt's NLL kept. `level_chunks`: llms' chunk levels at the end.
StatusOr<PolicyResult> RunPolicy(Engine& engine, KvPolicy policy, const BenchOptions& o,
                                 const Workload& w, int64_t budget, nlohmann::json* out,
                                 std::map<KvLevel, int64_t>* level_chunks) {
  std::error_code ec;
  std::filesystem::remove_all(o.swap_dir, ec);
  ContextMemoryOptions mo;
  mo.policy = policy;
  mo.budget_bytes = policy == KvPolicy::kResident ? 0 : budget;
  mo.swap_dir = o.swap_dir;
  mo.compression_ratio = o.ratio;
  mo.keep_warm = !o.no_warm;
  ASSIGN_OR_RETURN(std::unique_ptr<ContextMemory> mem, ContextMemory::Open(&engine, mo));
  if (policy == KvPolicy::kLlms) {
    (*out)["llms_cost_model"] = mem->cost_model().ToString();
    if (!o.json) {
      std::printf("llms restore cost model (measured at start-up): %s\n",
                  mem->cost_model().ToString().c_str());
    }
  }
  PolicyResult r;
  r.name = std::string(KvPolicyName(policy));
  std::vector<float> logits;
  auto key_of = [](int c) { return "ctx" + std::to_string(c); };
  for (int c = 0; c < o.contexts; ++c) {  // untimed set-up
    ASSIGN_OR_RETURN(Session * s, mem->Acquire(key_of(c)));
    RETURN_IF_ERROR(engine.Eval(*s, w.histories[c], false, &logits));
    RETURN_IF_ERROR(mem->Release(key_of(c)));
  }
  const int32_t n_vocab = engine.config().n_vocab;
  r.phases.resize(o.phases.size());
  ContextMemoryStats before = mem->stats();
  for (int i = 0; i < o.n_calls(); ++i) {
    PhaseResult& ph = r.phases[i / o.calls];
    const std::string key = key_of(w.trace[i]);
    const double t0 = Seconds();
    ASSIGN_OR_RETURN(Session * s, mem->Acquire(key));
    const double t_restored = Seconds();
    RETURN_IF_ERROR(engine.Eval(*s, w.prompts[i], true, &logits));
    const double t1 = Seconds();
    RETURN_IF_ERROR(mem->Release(key));
    ph.latency_ms.push_back((t1 - t0) * 1e3);
    ph.restore_ms.push_back((t_restored - t0) * 1e3);
    ph.logits.emplace_back(logits.end() - n_vocab, logits.end());
    for (int j = 0; j + 1 < o.prompt; ++j) {  // teacher-forced NLL of the prompt's own tokens
      ph.nll -=
          LogProb(logits.data() + static_cast<int64_t>(j) * n_vocab, n_vocab, w.prompts[i][j + 1]);
      ph.nll_n++;
    }
    if ((i + 1) % o.calls == 0) {  // end of a segment
      const ContextMemoryStats now = mem->stats();
      ph.stats = now;
      ph.stats.bytes_read -= before.bytes_read;
      ph.stats.bytes_written -= before.bytes_written;
      ph.stats.chunks_read -= before.chunks_read;
      ph.stats.chunks_recomputed -= before.chunks_recomputed;
      before = now;
    }
  }
  if (policy == KvPolicy::kLlms) {
    for (int c = 0; c < o.contexts; ++c) {
      for (KvLevel l : mem->ChunkLevels(key_of(c))) (*level_chunks)[l]++;
    }
  }
  return r;
}

// The table (or JSON) of each trace segment: every policy against resident; fills the chart's bars.
void ReportSegments(const BenchOptions& o, const std::vector<PolicyResult>& results,
                    nlohmann::json* out, std::vector<BarGroup>* bars) {
  const PolicyResult& ref = results[0];
  const int n_phases = static_cast<int>(o.phases.size());
  nlohmann::json segments = nlohmann::json::array();
  for (int p = 0; p < n_phases; ++p) {
    const PhaseResult& rp = ref.phases[p];
    const double ref_ppl = std::exp(rp.nll / std::max<int64_t>(1, rp.nll_n));
    nlohmann::json rows = nlohmann::json::array();
    if (!o.json) {
      std::printf(
          "\n%s choice, %d calls:\n\n| policy | mean switch ms | p99 ms | mean restore ms | p99 "
          "restore ms | MiB read | MiB written | peak stored MiB | next-token KL vs resident | ppl "
          "vs "
          "resident |\n|---|---|---|---|---|---|---|---|---|---|\n",
          o.phases[p].c_str(), o.calls);
    }
    for (const PolicyResult& r : results) {
      const PhaseResult& ph = r.phases[p];
      const Summary sw = Summarize(ph.latency_ms), rs = Summarize(ph.restore_ms);
      double kl = 0;
      for (size_t i = 0; i < ph.logits.size(); ++i) kl += Kl(rp.logits[i], ph.logits[i]);
      kl /= static_cast<double>(std::max<size_t>(1, ph.logits.size()));
      const double ppl = std::exp(ph.nll / std::max<int64_t>(1, ph.nll_n));
      rows.push_back({{"policy", r.name},
                      {"mean_switch_ms", sw.mean},
                      {"p99_switch_ms", sw.p99},
                      {"mean_restore_ms", rs.mean},
                      {"p99_restore_ms", rs.p99},
                      {"mib_read", ph.stats.bytes_read / 1048576.0},
                      {"mib_written", ph.stats.bytes_written / 1048576.0},
                      {"peak_stored_mib", ph.stats.peak_stored_bytes / 1048576.0},
                      {"next_token_kl", kl},
                      {"ppl_vs_resident_pct", 100 * (ppl / ref_ppl - 1)}});
      if (!o.json) {
        std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.4f | %+.2f%% |\n",
                    r.name.c_str(), sw.mean, sw.p99, rs.mean, rs.p99,
                    ph.stats.bytes_read / 1048576.0, ph.stats.bytes_written / 1048576.0,
                    ph.stats.peak_stored_bytes / 1048576.0, kl, 100 * (ppl / ref_ppl - 1));
      }
      bars->push_back({r.name + (n_phases > 1 ? "/" + o.phases[p] : std::string()),
                       {sw.mean, sw.p99, rs.mean, rs.p99}});
    }
    segments.push_back(
        {{"choice", o.phases[p]}, {"calls", o.calls}, {"policies", std::move(rows)}});
  }
  (*out)["segments"] = std::move(segments);
}

// The per-level table (or JSON): each level's size, expected error and measured quality, and the
// share of llms' chunks that ended at it.
void ReportLevels(const BenchOptions& o, const KvChunkShape& shape,
                  const std::vector<LevelQuality>& levels,
                  const std::map<KvLevel, int64_t>& llms_level_chunks, nlohmann::json* out) {
  int64_t llms_chunks = 0;
  for (const auto& [l, n] : llms_level_chunks) llms_chunks += n;
  const double ref_ppl = std::exp(levels[0].nll / std::max<int64_t>(1, levels[0].nll_n));
  if (!o.json) {
    std::printf(
        "\nEach level alone (every chunk of each called history at that level, its first "
        "prompt on top; KL over the prompt's positions vs fp16):\n\n| level | K bits | V bits "
        "| bytes vs fp16 | expected error | next-token KL | ppl vs fp16 | llms chunks at the end "
        "|\n|---|---|---|---|---|---|---|---|\n");
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const LevelQuality& q : levels) {
    const double kl = q.kl / std::max<int64_t>(1, q.kl_n);
    const double ppl = std::exp(q.nll / std::max<int64_t>(1, q.nll_n));
    const double bytes = static_cast<double>(shape.compressed_bytes(q.level)) /
                         static_cast<double>(shape.working_bytes());
    const auto at = llms_level_chunks.find(q.level);
    const double share = llms_chunks > 0 && at != llms_level_chunks.end()
                             ? static_cast<double>(at->second) / static_cast<double>(llms_chunks)
                             : 0.0;
    rows.push_back({{"level", std::string(KvLevelName(q.level))},
                    {"key_bits", KvLevelKeyBits(q.level)},
                    {"value_bits", KvLevelValueBits(q.level)},
                    {"bytes_vs_fp16", bytes},
                    {"expected_error", KvLevelError(q.level)},
                    {"next_token_kl", kl},
                    {"ppl_vs_fp16_pct", 100 * (ppl / ref_ppl - 1)},
                    {"llms_chunk_share", share}});
    if (!o.json) {
      std::printf("| %s | %d | %d | %.1f%% | %.3f | %.5f | %+.2f%% | %.0f%% |\n",
                  std::string(KvLevelName(q.level)).c_str(), KvLevelKeyBits(q.level),
                  KvLevelValueBits(q.level), 100 * bytes, KvLevelError(q.level), kl,
                  100 * (ppl / ref_ppl - 1), 100 * share);
    }
  }
  (*out)["levels"] = std::move(rows);
}

int RunBenchContexts(int argc, char** argv) {
  CLI::App app(
      "Context-switch benchmark of the KV memory policies (llms, swap, recompute, against "
      "resident) on a synthetic trace of app calls: switch and restore latency, bytes moved, and "
      "quality against resident.",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm bench-contexts --quick                          # default model, a few seconds\n"
      "  odlm bench-contexts --quick --json --policies llms,swap\n"
      "  odlm bench-contexts -m tl-q4_0.gguf -t 2 --contexts 8 --min-tokens 256 --max-tokens 2048 "
      "\\\n"
      "      --calls 16 --choice all --svg context_memory.svg   # docs/PERFORMANCE.md, ~16 min\n"
      "\n"
      "switch = call start -> first token's logits (restore + the call's prompt); restore = the\n"
      "KV back in a working cache. KL and perplexity are measured against resident on the same\n"
      "trace. --json prints one object with the same figures (milliseconds, MiB).");
  BenchOptions o;
  AddBenchOptions(app, &o);
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  if (Status st = FinishOptions(&o); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], st.message().c_str());
    return kExitUsage;
  }
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], o.model);
  if (!engine) return kExitFailure;
  auto fail = [&](const Status& st) {
    std::fprintf(stderr, "%s: %s\n", argv[0], st.ToString().c_str());
    return kExitFailure;
  };
  auto workload = BuildWorkload(*engine, o);
  if (!workload.ok()) return fail(workload.status());
  const Workload& w = *workload;
  const int64_t per_token_fp16 = 2LL * engine->config().n_layer * engine->config().kv_dim() * 2;
  const int64_t budget = static_cast<int64_t>(o.budget_frac * per_token_fp16 * w.total_tokens);
  nlohmann::json out = {
      {"model", o.model.model.empty() ? std::string("default") : o.model.model},
      {"model_description", engine->Describe()},
      {"threads", engine->pool()->num_threads()},
      {"contexts", o.contexts},
      {"tokens", w.total_tokens},
      {"min_tokens", o.min_tokens},
      {"max_tokens", o.max_tokens},
      {"calls", o.n_calls()},
      {"choice", o.choice},
      {"rate", o.rate},
      {"prompt_tokens", o.prompt},
      {"fp16_kv_mib", per_token_fp16 * w.total_tokens / 1048576.0},
      {"budget_mib", budget / 1048576.0},
      {"seed", o.seed},
      {"history_text", o.history_text.empty() ? nlohmann::json() : nlohmann::json(o.history_text)},
      {"prompt_text", o.prompt_text.empty() ? nlohmann::json() : nlohmann::json(o.prompt_text)},
  };
  if (!o.json) {
    std::printf("model: %s\n", engine->Describe().c_str());
    std::printf(
        "trace: %d contexts, %lld tokens (%lld..%lld each), %d calls (%s choice, Poisson "
        "%.2f/s), +%d tokens per call; fp16 KV of all contexts %.1f MiB, budget %.1f MiB\n",
        o.contexts, static_cast<long long>(w.total_tokens), static_cast<long long>(o.min_tokens),
        static_cast<long long>(o.max_tokens), o.n_calls(), o.choice.c_str(), o.rate, o.prompt,
        per_token_fp16 * w.total_tokens / 1048576.0, budget / 1048576.0);
    std::printf(
        "text: histories %s, prompts %s\n",
        o.history_text.empty() ? "random tokens" : ("passages of " + o.history_text).c_str(),
        !o.prompt_text.empty()    ? ("from " + o.prompt_text).c_str()
        : !o.history_text.empty() ? "continue their context's passage"
                                  : "random tokens");
  }
  std::vector<LevelQuality> levels;
  if (!o.no_levels) {
    auto measured = MeasureEachLevel(*engine, o, w);
    if (!measured.ok()) return fail(measured.status());
    levels = std::move(*measured);
  }
  std::map<KvLevel, int64_t> llms_level_chunks;
  std::vector<PolicyResult> results;
  for (KvPolicy policy : o.policies) {
    auto r = RunPolicy(*engine, policy, o, w, budget, &out, &llms_level_chunks);
    if (!r.ok()) return fail(r.status());
    results.push_back(std::move(*r));
    std::fprintf(stderr, "%s done\n", results.back().name.c_str());
  }
  std::filesystem::remove_all(o.swap_dir);
  std::vector<BarGroup> bars;
  ReportSegments(o, results, &out, &bars);
  if (!levels.empty()) {
    const KvCacheShape ks = engine->NewSession()->kv().shape();
    const KvChunkShape shape{.n_layer = ks.n_full_layers(),
                             .kv_dim = ks.kv_dim,
                             .chunk_tokens = ks.chunk_tokens,
                             .type = DType::kF16};
    ReportLevels(o, shape, levels, llms_level_chunks, &out);
  }
  if (!o.svg_path.empty()) {
    const std::string title =
        std::to_string(o.contexts) + " contexts, " + std::to_string(w.total_tokens) + " tokens, " +
        std::to_string(o.n_calls()) + " calls (" + o.choice + "), budget " +
        std::to_string(static_cast<int>(100 * o.budget_frac)) + "% of fp16 KV";
    const Status st = WriteBarChartSvg(
        o.svg_path, title, {"mean switch", "p99 switch", "mean restore", "p99 restore"}, bars);
    if (!st.ok()) return fail(st);
    if (!o.json) std::printf("\nplot: %s\n", o.svg_path.c_str());
    out["svg"] = o.svg_path;
  }
  if (o.json) std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("bench-contexts", "context-switch benchmark of KV policies (llms, recompute, swap)",
             RunBenchContexts);

}  // namespace odlm::cli
