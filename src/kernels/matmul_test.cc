// kernels/matmul_test.cc — MatMul (the variant this CPU picks) against float64 math on the
// dequantized weights, shape handling and thread-count independence.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/quant.h"

namespace odlm::kernels {
namespace {

constexpr DType kAllTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                               DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                               DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

struct Problem {
  std::vector<uint8_t> w;    // [rows, row_bytes]
  std::vector<float> w_deq;  // [rows, cols] the weights as stored, decoded
  std::vector<float> x;      // [n_tokens, cols]
  WeightMatrix m;
};

Problem MakeProblem(DType type, int64_t rows, int64_t cols, int64_t n_tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Problem p;
  const int64_t rb = RowBytes(type, cols);
  p.w.resize(rows * rb);
  p.w_deq.resize(rows * cols);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    QuantizeRow(type, row.data(), p.w.data() + r * rb, cols);
    DequantizeRow(type, p.w.data() + r * rb, p.w_deq.data() + r * cols, cols);
  }
  p.x.resize(n_tokens * cols);
  for (auto& v : p.x) v = dist(rng);
  p.m = WeightMatrix{type, p.w.data(), rows, cols, rb};
  return p;
}

// RMS(y - exact) / RMS(exact), exact in float64 from the decoded weights and unrounded x.
double RelativeRmsError(const Problem& p, int64_t n_tokens, const std::vector<float>& y) {
  double se = 0, s2 = 0;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < p.m.rows; ++r) {
      double e = 0;
      for (int64_t i = 0; i < p.m.cols; ++i) {
        e += static_cast<double>(p.w_deq[r * p.m.cols + i]) * p.x[t * p.m.cols + i];
      }
      const double d = y[t * p.m.rows + r] - e;
      se += d * d;
      s2 += e * e;
    }
  }
  return std::sqrt(se / s2);
}

TEST(MatMulTest, MatchesFloat64OnDecodedWeights) {
  const int64_t rows = 37, cols = 512, n_tokens = 5;
  for (DType type : kAllTypes) {
    ASSERT_TRUE(IsMatMulSupported(type));
    Problem p = MakeProblem(type, rows, cols, n_tokens, 11);
    std::vector<float> y(n_tokens * rows);
    MatMul(p.m, p.x.data(), n_tokens, y.data(), nullptr);
    const double err = RelativeRmsError(p, n_tokens, y);
    // Float weights: f32 accumulation only. Quantized: the activation rounding to 8 bits
    // (Q8_0/Q8_K relative RMS ~0.5-0.7%) dominates.
    const bool is_float = type == DType::kF32 || type == DType::kF16 || type == DType::kBF16;
    const double bound = is_float ? 1e-6 : 0.01;
    std::printf("  %-5s via %-10s relative RMS error %.2e\n", DTypeName(type).data(),
                MatMulVariant(type).data(), err);
    EXPECT_LE(err, bound) << DTypeName(type);
  }
}

TEST(MatMulTest, ThreadCountDoesNotChangeResults) {
  ThreadPool pool(3);
  for (DType type : kAllTypes) {
    Problem p = MakeProblem(type, 101, 256, 7, 5);
    std::vector<float> y1(7 * 101), y3(7 * 101);
    MatMul(p.m, p.x.data(), 7, y1.data(), nullptr);
    MatMul(p.m, p.x.data(), 7, y3.data(), &pool);
    for (size_t i = 0; i < y1.size(); ++i) ASSERT_EQ(y1[i], y3[i]) << DTypeName(type) << " " << i;
  }
}

TEST(MatMulTest, RowStrideLargerThanRow) {
  // A row stride with padding (a view into a bigger tensor) reads only the row's own bytes.
  Problem p = MakeProblem(DType::kQ4_0, 9, 64, 2, 3);
  const int64_t rb = p.m.row_bytes, padded = rb + 14;
  std::vector<uint8_t> wp(9 * padded, 0xff);
  for (int r = 0; r < 9; ++r) std::copy_n(p.w.data() + r * rb, rb, wp.data() + r * padded);
  WeightMatrix m = p.m;
  m.data = wp.data();
  m.row_bytes = padded;
  std::vector<float> a(2 * 9), b(2 * 9);
  MatMul(p.m, p.x.data(), 2, a.data(), nullptr);
  MatMul(m, p.x.data(), 2, b.data(), nullptr);
  EXPECT_EQ(a, b);
}

// MatMulMany equals one MatMul per matrix bit for bit: mixed weight types (activation formats
// shared or not), row counts that are not multiples of 16, decode and prefill token counts (the
// latter reach the packed GEMM where the CPU has one), with and without a pool.
TEST(MatMulTest, ManyEqualsOneCallPerMatrix) {
  const int64_t cols = 512;
  const std::vector<std::vector<DType>> groups = {
      {DType::kQ4_K, DType::kQ4_K, DType::kQ6_K},  // a Q4_K_M layer's Q/K/V
      {DType::kQ4_0, DType::kQ8_0},                // one activation format
      {DType::kQ8_0, DType::kF16, DType::kQ5_K},   // three formats
      {DType::kF32}};
  const int64_t rows[] = {100, 37, 16, 64};
  ThreadPool pool(3);
  for (const auto& types : groups) {
    for (int64_t n_tokens : {1, 3, 20}) {
      std::vector<Problem> ps;
      for (size_t i = 0; i < types.size(); ++i) {
        ps.push_back(MakeProblem(types[i], rows[i], cols, n_tokens, 40 + static_cast<uint32_t>(i)));
      }
      const std::vector<float>& x = ps[0].x;
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        std::vector<std::vector<float>> want(types.size()), got(types.size());
        std::vector<MatMulOutput> outs;
        for (size_t i = 0; i < types.size(); ++i) {
          want[i].assign(n_tokens * rows[i], 0.0f);
          got[i].assign(n_tokens * rows[i], -1.0f);
          MatMul(ps[i].m, x.data(), n_tokens, want[i].data(), p);
          outs.push_back({&ps[i].m, got[i].data()});
        }
        MatMulMany(outs, x.data(), n_tokens, p);
        for (size_t i = 0; i < types.size(); ++i) {
          ASSERT_EQ(got[i], want[i]) << DTypeName(types[i]) << " output " << i << ", " << n_tokens
                                     << " tokens, pool " << (p != nullptr);
        }
      }
    }
  }
}

TEST(MatMulTest, ZeroTokensIsANoOp) {
  Problem p = MakeProblem(DType::kQ8_0, 4, 32, 1, 1);
  float y = 123.0f;
  MatMul(p.m, p.x.data(), 0, &y, nullptr);
  EXPECT_EQ(y, 123.0f);
}

TEST(MatMulTest, VariantNamesAreReported) {
  for (DType type : kAllTypes) EXPECT_NE(MatMulVariant(type), "none") << DTypeName(type);
  EXPECT_EQ(MatMulVariant(DType::kIQ2_XS), "none");
  EXPECT_FALSE(IsMatMulSupported(DType::kIQ2_XS));
}

}  // namespace
}  // namespace odlm::kernels
