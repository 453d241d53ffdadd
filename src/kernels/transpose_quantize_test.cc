// kernels/transpose_quantize_test.cc — Wᵀ re-quantized: every element is W's dequantized value
// within the target type's rounding, for source types of every family; MatMul with Wᵀ gives dy·W.
#include "kernels/transpose_quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/matmul_float.h"
#include "kernels/quant.h"

namespace odlm::kernels {
namespace {

struct Source {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

Source MakeMatrix(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  Source s;
  const int64_t row_bytes = RowBytes(type, cols);
  s.bytes.resize(static_cast<size_t>(rows * row_bytes));
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = n01(rng);
    QuantizeRow(type, row.data(), s.bytes.data() + r * row_bytes, cols);
  }
  s.w = WeightMatrix{type, s.bytes.data(), rows, cols, row_bytes};
  return s;
}

TEST(TransposeQuantizeTest, EveryElementIsTheSourceWithinQ8Rounding) {
  for (DType type : {DType::kF32, DType::kF16, DType::kQ4_0, DType::kQ8_0, DType::kQ4_K}) {
    SCOPED_TRACE(std::string(DTypeName(type)));
    const int64_t rows = 64, cols = 256;
    Source src = MakeMatrix(type, rows, cols, 5);
    ASSERT_TRUE(CanTransposeQuantize(src.w, DType::kQ8_0));
    std::vector<uint8_t> storage;
    ThreadPool pool(2);
    const WeightMatrix t = TransposeQuantize(src.w, DType::kQ8_0, &storage, &pool);
    ASSERT_EQ(t.rows, cols);
    ASSERT_EQ(t.cols, rows);
    std::vector<float> w(rows * cols), wt(cols * rows);
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(type, src.bytes.data() + r * src.w.row_bytes, &w[r * cols], cols);
    }
    for (int64_t c = 0; c < cols; ++c) {
      DequantizeRow(DType::kQ8_0, storage.data() + c * t.row_bytes, &wt[c * rows], rows);
    }
    for (int64_t c = 0; c < cols; ++c) {
      for (int64_t g = 0; g < rows; g += 32) {
        float amax = 0;
        for (int64_t r = g; r < g + 32; ++r) amax = std::max(amax, std::fabs(w[r * cols + c]));
        for (int64_t r = g; r < g + 32; ++r) {
          // Q8_0: step amax/127, round to nearest (+ the f16 scale's own rounding).
          EXPECT_NEAR(wt[c * rows + r], w[r * cols + c], amax / 127 * 0.51 + 1e-3 * amax);
        }
      }
    }
    // dy·W through MatMul on Wᵀ ≈ MatMulTransposed in f32 (Q8 activations + Q8 weights).
    std::vector<float> dy(3 * rows), dx_fast(3 * cols), dx_exact(3 * cols);
    std::mt19937 rng(9);
    std::normal_distribution<float> n01(0.0f, 1.0f);
    for (float& v : dy) v = n01(rng);
    MatMul(t, dy.data(), 3, dx_fast.data(), &pool);
    MatMulTransposed(src.w, dy.data(), 3, dx_exact.data(), false, &pool);
    double num = 0, den = 0;
    for (size_t i = 0; i < dx_exact.size(); ++i) {
      num += (dx_fast[i] - dx_exact[i]) * (dx_fast[i] - dx_exact[i]);
      den += dx_exact[i] * dx_exact[i];
    }
    EXPECT_LT(std::sqrt(num / den), 0.02);
  }
}

TEST(TransposeQuantizeTest, RowCountsThatAreNotABlockMultipleAreRefused) {
  Source src = MakeMatrix(DType::kF32, 40, 64, 1);
  EXPECT_FALSE(CanTransposeQuantize(src.w, DType::kQ8_0));
  src = MakeMatrix(DType::kF32, 64, 64, 1);
  EXPECT_TRUE(CanTransposeQuantize(src.w, DType::kQ8_0));
}

}  // namespace
}  // namespace odlm::kernels
