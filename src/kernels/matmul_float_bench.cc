// kernels/matmul_float_bench.cc — MatMulFloat / MatMulTransposed / AccumulateOuter per variant.
//
// Training shapes of a TinyLlama-1.1B layer: 256 tokens through a 2048×2048 (attention) and a
// 5632×2048 (FFN) matrix, with frozen Q4_0 and trainable F32 weights (also Q4_K and F16 for the
// SIMD variants; the scalar reference only does Q4_0 and F32). GFLOP/s counts 2·rows·cols·n_tokens
// flops per call. Every variant this CPU can run is timed (the label names it; the others are
// skipped); 1 and 2 threads. "GFLOP/s" is per wall-clock second; "GFLOP/s_cpu" per second of
// process CPU time, the steadier number on a shared machine (with 2 threads it counts both threads,
// spinning included). BM_MatMulFloatSmall adds LoRA-sized and few-token shapes.
//   matmul_float_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul_float_ops.h"
#include "kernels/quant.h"

namespace odlm::kernels::internal {
namespace {

constexpr DType kTypes[] = {DType::kQ4_0, DType::kF32, DType::kQ4_K, DType::kF16};
enum Product { kForward, kTransposed, kOuter };
constexpr const char* kProductNames[] = {"MatMulFloat", "MatMulTransposed", "AccumulateOuter"};

void BM_MatMulFloat(benchmark::State& state) {
  const Product product = static_cast<Product>(state.range(0));
  const int variant = static_cast<int>(state.range(1));
  const DType type = kTypes[state.range(2)];
  const int64_t rows = state.range(3), cols = state.range(4), n_tokens = state.range(5);
  const int threads = static_cast<int>(state.range(6));
  const MatMulFloatOps* all[3];
  if (variant >= RunnableFloatOps(all)) {
    state.SkipWithError("variant not runnable on this CPU");
    return;
  }
  const MatMulFloatOps& ops = *all[variant];
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t rb = RowBytes(type, cols);
  std::vector<uint8_t> w(product == kOuter ? 0 : rows * rb);
  std::vector<float> row(cols);
  for (int64_t r = 0; product != kOuter && r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    QuantizeRow(type, row.data(), w.data() + r * rb, cols);
  }
  const WeightMatrix m{type, w.data(), rows, cols, rb};
  std::vector<float> x(n_tokens * cols), dy(n_tokens * rows), y(n_tokens * rows);
  std::vector<float> dx(n_tokens * cols), dw(product == kOuter ? rows * cols : 0);
  for (auto& v : x) v = dist(rng);
  for (auto& v : dy) v = dist(rng);
  std::unique_ptr<ThreadPool> pool = threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr;
  auto cpu_seconds = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  const double cpu0 = cpu_seconds();
  for (auto _ : state) {
    switch (product) {
      case kForward:
        MatMulFloatWithOps(ops, m, x.data(), n_tokens, y.data(), pool.get());
        benchmark::DoNotOptimize(y.data());
        break;
      case kTransposed:
        MatMulTransposedWithOps(ops, m, dy.data(), n_tokens, dx.data(), false, pool.get());
        benchmark::DoNotOptimize(dx.data());
        break;
      case kOuter:
        AccumulateOuterWithOps(ops, dy.data(), rows, x.data(), cols, n_tokens, dw.data(),
                               pool.get());
        benchmark::DoNotOptimize(dw.data());
        break;
    }
  }
  state.SetLabel(std::string(kProductNames[product]) + "/" +
                 (product == kOuter ? std::string("f32") : std::string(DTypeName(type))) + "/" +
                 std::string(ops.variant));
  const double flops = 2.0 * rows * cols * n_tokens * static_cast<double>(state.iterations());
  state.counters["GFLOP/s_cpu"] = flops / 1e9 / (cpu_seconds() - cpu0);
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
}

// The layer shapes: 256 tokens, 2048 or 5632 rows × 2048 columns.
void LayerArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"product", "variant", "type", "rows", "cols", "tokens", "threads"});
  for (int product : {kForward, kTransposed, kOuter}) {
    for (int variant = 0; variant < 3; ++variant) {
      for (int type = 0; type < static_cast<int>(std::size(kTypes)); ++type) {
        if (product == kOuter && type > 0) continue;  // f32 in, f32 out: the type does not apply
        if (variant == 0 && type > 1) continue;       // the slow reference: Q4_0 and F32 only
        for (int64_t rows : {2048, 5632}) {
          for (int threads : {1, 2}) b->Args({product, variant, type, rows, 2048, 256, threads});
        }
      }
    }
  }
}

// Small shapes, one thread: rank-16 LoRA matrices (A: 16 × 2048, B: 2048 × 16, F32) at 256
// tokens, and a Q4_0 2048 × 2048 matrix at 1, 3 and 64 tokens (where decoding weights dominates).
void SmallArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"product", "variant", "type", "rows", "cols", "tokens", "threads"});
  for (int product : {kForward, kTransposed, kOuter}) {
    for (int variant = 0; variant < 3; ++variant) {
      b->Args({product, variant, 1, 16, 2048, 256, 1});
      b->Args({product, variant, 1, 2048, 16, 256, 1});
      if (product == kOuter) continue;
      for (int64_t tokens : {1, 3, 64}) b->Args({product, variant, 0, 2048, 2048, tokens, 1});
    }
  }
}

BENCHMARK(BM_MatMulFloat)->Apply(LayerArgs)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_MatMulFloat)
    ->Name("BM_MatMulFloatSmall")
    ->Apply(SmallArgs)
    ->UseRealTime()
    ->MinTime(0.2);

}  // namespace
}  // namespace odlm::kernels::internal

BENCHMARK_MAIN();
