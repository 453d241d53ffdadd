// tools/odlm/cmd_bench.cc — `odlm bench`: prefill and decode speed, time to first token, peak
// memory, and decode as a fraction of the machine's read-bandwidth roofline.
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/thread_pool.h"
#include "command.h"
#include "common_options.h"
#include "kernels/matmul.h"
#include "platform/cpu_features.h"
#include "platform/cpu_info.h"
#include "platform/huge_page_memory.h"
#include "platform/process_stats.h"

namespace odlm::cli {
namespace {

// Read bandwidth of this machine with `pool`'s threads, in GB/s: the median of 7 passes over a
// 1 GiB buffer (well beyond any L3 this tool targets; the buffer is written first, so every page
// is resident and the passes measure reads only). Loads are 16-byte vectors (SSE2 on x86, the
// baseline ISA; plain 64-bit words elsewhere) into 4 independent accumulators, which is enough
// to saturate DRAM from two cores: wider loads move the same cache lines. The buffer is 2 MiB
// aligned and advised for transparent huge pages, so the figure is the memory's limit and not the
// page walker's (with 4 KiB pages a VM measured ~25% less).
double MeasureReadBandwidth(ThreadPool* pool) {
  const size_t bytes = size_t{1} << 30;
  const size_t n = bytes / sizeof(uint64_t);
  auto memory = HugePageMemory::Allocate(bytes);
  if (!memory.ok()) return 0;
  auto* buf = reinterpret_cast<uint64_t*>((*memory)->data());
  pool->ParallelFor(static_cast<int64_t>(n), [&](int, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i) * 2654435761u;
  });
  std::vector<uint64_t> sinks(pool->num_threads());
  std::vector<double> passes;
  for (int pass = 0; pass < 7; ++pass) {
    const int64_t t0 = MonotonicNanos();
    pool->ParallelFor(
        static_cast<int64_t>(n),
        [&](int t, int64_t b, int64_t e) {
#if defined(__SSE2__)
          __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
          const auto* p = reinterpret_cast<const __m128i*>(buf + b);
          for (int64_t i = 0; i + 8 <= (e - b) / 2; i += 8) {
            a0 = _mm_add_epi64(a0, _mm_load_si128(p + i));
            a1 = _mm_add_epi64(a1, _mm_load_si128(p + i + 1));
            a2 = _mm_add_epi64(a2, _mm_load_si128(p + i + 2));
            a3 = _mm_add_epi64(a3, _mm_load_si128(p + i + 3));
            a0 = _mm_add_epi64(a0, _mm_load_si128(p + i + 4));
            a1 = _mm_add_epi64(a1, _mm_load_si128(p + i + 5));
            a2 = _mm_add_epi64(a2, _mm_load_si128(p + i + 6));
            a3 = _mm_add_epi64(a3, _mm_load_si128(p + i + 7));
          }
          const __m128i s = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
          sinks[t] += static_cast<uint64_t>(_mm_cvtsi128_si64(s));
#else
          uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (int64_t i = b; i + 4 <= e; i += 4) {
            s0 += buf[i];
            s1 += buf[i + 1];
            s2 += buf[i + 2];
            s3 += buf[i + 3];
          }
          sinks[t] += s0 ^ s1 ^ s2 ^ s3;
#endif
        },
        /*grain=*/1 << 16);  // chunks of 512 KiB, 16-byte aligned
    const double s = (MonotonicNanos() - t0) / 1e9;
    passes.push_back(bytes / s / 1e9);
  }
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep + s;
  (void)keep;
  return Median(passes);
}

// Resident memory of this process now, split as the kernel counts it (/proc/self/status): pages
// of mapped files (the model's weights when mapped: page cache shared with other processes, which
// the OS may drop and read again) and anonymous memory (KV cache, scratch, weights read with
// --no-mmap). MiB; 0 where unknown.
struct ResidentSplit {
  double file_mib = 0, anon_mib = 0, shmem_mib = 0;
  double model_file_mib = 0;  // resident pages of mappings of the model file (its weights)
};

ResidentSplit ReadResidentSplit() {
  ResidentSplit r;
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return r;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    long long kb = 0;
    if (std::sscanf(line, "RssFile: %lld", &kb) == 1) r.file_mib = kb / 1024.0;
    if (std::sscanf(line, "RssAnon: %lld", &kb) == 1) r.anon_mib = kb / 1024.0;
    if (std::sscanf(line, "RssShmem: %lld", &kb) == 1) r.shmem_mib = kb / 1024.0;
  }
  std::fclose(f);
  return r;
}

// Resident MiB of this process's mappings of `path` (/proc/self/smaps); 0 if none or unknown.
double ResidentOfFile(const std::string& path) {
  char real[4096];
  if (::realpath(path.c_str(), real) == nullptr) return 0;
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return 0;
  char line[4352];
  bool inside = false;
  double mib = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    // A mapping's header: "start-end perms offset dev inode   [path]"; then "Key: value" lines.
    unsigned long long lo = 0, hi = 0;
    char dash = 0;
    if (std::sscanf(line, "%llx%c%llx ", &lo, &dash, &hi) == 3 && dash == '-') {
      const char* slash = std::strchr(line, '/');
      std::string name = slash != nullptr ? slash : "";
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
      inside = name == real;
      continue;
    }
    long long kb = 0;
    if (inside && std::sscanf(line, "Rss: %lld", &kb) == 1) mib += kb / 1024.0;
  }
  std::fclose(f);
  return mib;
}

int RunBench(int argc, char** argv) {
  // `odlm bench --speculative ...` is `odlm bench-speculative ...` (cmd_bench_speculative.cc).
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--speculative") != 0) continue;
    std::vector<char*> rest(argv, argv + argc);
    rest.erase(rest.begin() + i);
    for (const Command& c : Commands()) {
      if (c.name == "bench-speculative") return c.run(static_cast<int>(rest.size()), rest.data());
    }
  }
  CLI::App app(
      "Measure prefill and decode speed (medians over repetitions), time to first token, "
      "resident memory, and decode against this machine's read-bandwidth roofline.",
      argv[0]);
  app.footer(
      "examples:\n"
      "  odlm bench                                    # the default model, -p 128 -n 64 -r 3\n"
      "  odlm bench -m tl-q4_0.gguf -p 128 -n 64 -t 2 -r 3 --json\n"
      "  odlm bench -m tl-q4_0.gguf -p 1 -n 128 -r 5 --no-mmap   # single-token decode\n"
      "  odlm bench --speculative --lookup-ngram 3 --document examples/documents/lighthouse.txt\n"
      "\n"
      "The context is -p + -n + 1 tokens unless -c is given: bench allocates only the KV cache it\n"
      "uses, so 'context 193 (trained 2048)' means 193 tokens of KV for a model trained on 2048.\n"
      "Memory: 'peak RSS' is the process's resident high-water mark during the model runs. It\n"
      "counts the mapped weights' pages (file-backed) as well as the KV cache and scratch\n"
      "(anonymous); bench splits it below. The bandwidth probe that follows allocates 1 GiB\n"
      "more, so the whole-process figure (/usr/bin/time's) is ~1 GiB above; bench prints it too.");
  ModelOptions model;
  int n_prompt = 128, n_gen = 64, reps = 3;
  bool json = false;
  AddModelOptions(app, &model);
  app.get_option("--ctx-size")
      ->description("KV cache length in tokens (default: -p + -n + 1, what the run uses)");
  app.add_option("-p,--n-prompt", n_prompt, "prompt tokens (prefill)")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  app.add_option("-n,--n-gen", n_gen, "generated tokens (decode)")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  app.add_option("-r,--repetitions", reps, "repetitions (medians are reported)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_flag("--json", json, "print one JSON object");
  bool speculative = false;  // handled above; listed for --help
  app.add_flag("--speculative", speculative,
               "decode with and without speculative decoding on grounded-QA prompts instead: "
               "takes the options of `odlm bench-speculative` (see its --help)");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  const bool ctx_given = model.ctx != 0;
  if (model.ctx == 0) model.ctx = n_prompt + n_gen + 1;
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  if (n_prompt + n_gen > engine->n_ctx()) {
    std::fprintf(stderr, "%s: -p + -n exceeds the context (-c %lld)\n", argv[0],
                 static_cast<long long>(engine->n_ctx()));
    return kExitUsage;
  }
  const ModelConfig& c = engine->config();
  std::mt19937 rng(1234);
  std::vector<int32_t> prompt(n_prompt);
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % c.n_vocab);

  // Warm-up: touch every weight page once so the first repetition does not measure disk.
  {
    auto s = engine->NewSession();
    std::vector<float> logits;
    if (Status st = engine->Eval(*s, std::span<const int32_t>(prompt.data(), 1), false, &logits);
        !st.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], st.ToString().c_str());
      return kExitFailure;
    }
  }
  std::vector<double> prefill_tps, decode_tps, ttft_ms, prefill_cpu_s, decode_cpu_s;
  int64_t kv_cache_bytes = 0;  // the session's KV at the end of a run (sliding layers windowed)
  for (int r = 0; r < reps; ++r) {
    auto s = engine->NewSession();
    std::vector<float> logits;
    const std::clock_t c0 = std::clock();
    const int64_t t0 = MonotonicNanos();
    Status st = engine->Eval(*s, prompt, false, &logits);
    const int64_t t1 = MonotonicNanos();
    const std::clock_t c1 = std::clock();
    int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    for (int i = 0; i < n_gen && st.ok(); ++i) {
      const int32_t one[1] = {next};
      st = engine->Eval(*s, one, false, &logits);
      next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    const int64_t t2 = MonotonicNanos();
    const std::clock_t c2 = std::clock();
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], st.ToString().c_str());
      return kExitFailure;
    }
    kv_cache_bytes = s->kv().allocated_bytes();
    prefill_tps.push_back(n_prompt / ((t1 - t0) / 1e9));
    decode_tps.push_back(n_gen / ((t2 - t1) / 1e9));
    ttft_ms.push_back((t1 - t0) / 1e6);
    prefill_cpu_s.push_back(static_cast<double>(c1 - c0) / CLOCKS_PER_SEC);
    decode_cpu_s.push_back(static_cast<double>(c2 - c1) / CLOCKS_PER_SEC);
  }
  // Peak memory of the model runs, before the bandwidth probe allocates its own buffer, and what
  // is resident now split into file-backed (mapped weights) and anonymous pages.
  const double peak_rss_mib = PeakResidentBytes() / 1048576.0;
  ResidentSplit split = ReadResidentSplit();
  split.model_file_mib = engine->options().mmap ? ResidentOfFile(engine->options().model_path) : 0;
  const double bw = MeasureReadBandwidth(engine->pool());
  const double process_peak_rss_mib = PeakResidentBytes() / 1048576.0;
  // Bytes one decode step reads: every weight matrix but the embedding table (one row of it),
  // plus the KV cache at the average context length of the decode phase.
  const ModelWeights& w = engine->model().weights();
  int64_t weight_bytes =
      w.bytes - w.token_embd.rows * w.token_embd.row_bytes + w.token_embd.row_bytes;
  if (w.tied_output) weight_bytes += w.output.rows * w.output.row_bytes;
  const int64_t kv_elem = engine->options().kv_type == DType::kF16 ? 2 : 4;
  const double avg_ctx = n_prompt + n_gen / 2.0;
  double kv_bytes = 0;  // a sliding-window layer reads its window at most
  for (int32_t l = 0; l < c.n_layer; ++l) {
    const double read = c.IsSliding(l) ? std::min<double>(avg_ctx, c.sliding_window) : avg_ctx;
    kv_bytes += 2.0 * c.kv_dim() * kv_elem * read;
  }
  const double bytes_per_token = static_cast<double>(weight_bytes) + kv_bytes;
  const double decode = Median(decode_tps);
  const double roofline_tps = bw * 1e9 / bytes_per_token;
  nlohmann::json j = {
      {"model", model.model.empty() ? std::string("default") : model.model},
      {"n_prompt", n_prompt},
      {"n_gen", n_gen},
      {"threads", engine->pool()->num_threads()},
      {"mmap", engine->options().mmap},
      // The 8-row interleaved weight copies made at load (0: none on this CPU, or --no-repack).
      {"repacked_mib", static_cast<double>(engine->model().interleaved_bytes()) / 1048576.0},
      {"repetitions", reps},
      {"prefill_tok_s", Median(prefill_tps)},
      {"decode_tok_s", decode},
      {"ttft_ms", Median(ttft_ms)},
      // CPU seconds of the whole process per phase (all threads, spin-waits included). On a
      // shared machine, -t 1 runs give load-independent per-core throughput: tokens / these.
      {"prefill_cpu_s", Median(prefill_cpu_s)},
      {"decode_cpu_s", Median(decode_cpu_s)},
      // Resident high-water mark of the model runs: file-backed pages (mapped weights) and
      // anonymous ones (KV cache, scratch, --no-mmap weights) alike; the split is the state at
      // the end of the runs. process_peak_rss_mib adds the bandwidth probe's 1 GiB buffer.
      {"peak_rss_mib", peak_rss_mib},
      {"rss_file_mib", split.file_mib},
      {"rss_model_file_mib", split.model_file_mib},
      {"model_weights_mib", static_cast<double>(w.bytes) / 1048576.0},
      {"rss_anon_mib", split.anon_mib + split.shmem_mib},
      {"kv_cache_mib", static_cast<double>(kv_cache_bytes) / 1048576.0},
      {"process_peak_rss_mib", process_peak_rss_mib},
      {"n_ctx", engine->n_ctx()},
      {"n_ctx_train", c.n_ctx_train},
      {"bandwidth_gb_s", bw},
      {"bytes_per_token_mib", bytes_per_token / 1048576.0},
      {"roofline_tok_s", roofline_tps},
      {"roofline_fraction", decode / roofline_tps},
      {"cpu", GetCpuFeatures().ToString()},
      {"cpu_model", GetCpuInfo().model},
      {"cpu_logical", GetCpuInfo().logical_cpus},
      {"cpu_l1d_kib", GetCpuInfo().l1d_bytes >> 10},
      {"cpu_l2_kib", GetCpuInfo().l2_bytes >> 10},
      {"cpu_l3_kib", GetCpuInfo().l3_bytes >> 10},
  };
  std::map<std::string, std::string> variants;
  for (const auto& t : engine->file().tensors()) {
    if (t.dims.size() == 2)
      variants[std::string(DTypeName(t.type))] = kernels::MatMulVariant(t.type);
  }
  j["kernels"] = variants;
  if (json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("model            %s\n", engine->Describe().c_str());
    std::printf("cpu              %s [%s]\n", GetCpuInfo().ToString().c_str(),
                GetCpuFeatures().ToString().c_str());
    std::printf("context          %lld tokens of KV cache (%s; the model was trained on %lld)\n",
                static_cast<long long>(engine->n_ctx()),
                ctx_given ? "-c" : "-p + -n + 1, the most this run uses; -c N to change",
                static_cast<long long>(c.n_ctx_train));
    std::printf("prefill          %.2f tok/s (pp%d, median of %d)\n", Median(prefill_tps), n_prompt,
                reps);
    std::printf("decode           %.2f tok/s (tg%d)\n", decode, n_gen);
    std::printf("time to first    %.1f ms\n", Median(ttft_ms));
    std::printf("KV cache         %.2f MiB at the end of a run%s\n",
                static_cast<double>(kv_cache_bytes) / 1048576.0,
                c.sliding_window > 0 ? " (sliding-window layers keep their window only)" : "");
    std::printf("peak RSS         %.1f MiB during the model runs; resident at their end:\n",
                peak_rss_mib);
    if (engine->options().mmap) {
      std::printf("                 %.1f MiB of the mapped model file (weights: %.1f MiB)\n",
                  split.model_file_mib, static_cast<double>(w.bytes) / 1048576.0);
      std::printf(
          "                 %.1f MiB other file-backed pages (the odlm binary, libraries)\n",
          std::max(0.0, split.file_mib - split.model_file_mib));
      std::printf(
          "                 %.1f MiB anonymous (repacked weights %.1f MiB, KV cache, "
          "scratch)\n",
          split.anon_mib + split.shmem_mib,
          static_cast<double>(engine->model().interleaved_bytes()) / 1048576.0);
    } else {
      std::printf("                 %.1f MiB file-backed (the odlm binary, libraries)\n",
                  split.file_mib);
      std::printf(
          "                 %.1f MiB anonymous (the weights read with --no-mmap, repacked "
          "weights %.1f MiB, KV cache, scratch)\n",
          split.anon_mib + split.shmem_mib,
          static_cast<double>(engine->model().interleaved_bytes()) / 1048576.0);
    }
    std::printf(
        "whole process    %.1f MiB peak, with the bandwidth probe's 1 GiB buffer (what "
        "/usr/bin/time reports)\n",
        process_peak_rss_mib);
    std::printf("read bandwidth   %.2f GB/s; %.1f MiB read per token → roofline %.2f tok/s\n", bw,
                bytes_per_token / 1048576.0, roofline_tps);
    std::printf("decode/roofline  %.1f%%\n", 100.0 * decode / roofline_tps);
  }
  return kExitOk;
}

ODLM_COMMAND("bench", "measure prefill/decode speed against the memory-bandwidth roofline",
             RunBench);

}  // namespace
}  // namespace odlm::cli
