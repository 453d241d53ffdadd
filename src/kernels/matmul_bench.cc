// kernels/matmul_bench.cc — MatMul microbenchmarks per weight type.
//
// Shapes of a TinyLlama-1.1B layer (2048×2048 attention, 5632×2048 FFN), n_tokens 1 (decode:
// memory-bound, reported as GB/s of weights read) and 128 (prefill: compute-bound, GFLOP/s with
// 2·rows·cols·n_tokens flops), 1 and 2 threads. The weights (~2-46 MB) exceed the caches, and
// each iteration streams them once, as decode does.
//   build-X/src/kernels/matmul_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace odlm::kernels {
namespace {

constexpr DType kTypes[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K, DType::kF16,
                            DType::kF32,  DType::kQ5_K, DType::kQ4_1, DType::kBF16};

void BM_MatMul(benchmark::State& state) {
  const DType type = kTypes[state.range(0)];
  const int64_t rows = state.range(1), cols = 2048, n_tokens = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const int64_t rb = RowBytes(type, cols);
  std::vector<uint8_t> w(rows * rb);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    QuantizeRow(type, row.data(), w.data() + r * rb, cols);
  }
  std::vector<float> x(n_tokens * cols), y(n_tokens * rows);
  for (auto& v : x) v = dist(rng);
  std::unique_ptr<ThreadPool> pool = threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr;
  WeightMatrix m{type, w.data(), rows, cols, rb};
  // layout 1: the interleaved copy the model loader makes where it pays (kernels/interleave.h).
  std::vector<uint8_t> x8;
  if (state.range(4) == 1) {
    if (!InterleavedLayoutPays(type) || !CanInterleave(m)) {
      state.SkipWithError("no interleaved kernel for this type on this CPU");
      return;
    }
    x8.resize(InterleavedBytes(m));
    InterleaveRows(m, x8.data(), nullptr);
    m.interleaved = x8.data();
  }
  for (auto _ : state) {
    MatMul(m, x.data(), n_tokens, y.data(), pool.get());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(DTypeName(type)) + "/" + std::string(MatMulVariant(type)) +
                 (m.interleaved != nullptr ? "/x8" : ""));
  const double iters = static_cast<double>(state.iterations());
  if (n_tokens == 1) {
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * rb) * iters / 1e9,
                                                benchmark::Counter::kIsRate);
  } else {
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * rows * cols * n_tokens * iters / 1e9, benchmark::Counter::kIsRate);
  }
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"type", "rows", "tokens", "threads", "x8"});
  for (int t = 0; t < static_cast<int>(std::size(kTypes)); ++t)
    for (int64_t rows : {2048, 5632})
      for (int64_t nt : {1, 4, 128})
        for (int th : {1, 2})
          for (int x8 : {0, 1}) {
            if (x8 == 1 && !InterleavedLayoutPays(kTypes[t])) continue;
            b->Args({t, rows, nt, th, x8});
          }
}

BENCHMARK(BM_MatMul)->Apply(Args)->UseRealTime()->MinTime(0.3);

}  // namespace
}  // namespace odlm::kernels

BENCHMARK_MAIN();
