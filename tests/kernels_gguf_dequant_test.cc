// tests/kernels_gguf_dequant_test.cc — kernels/ against real GGUF files: every tensor of the
// tiny-llama-<type>.gguf files (the same random weights as tiny-llama-f32.gguf, quantized by
// llama.cpp) dequantizes close to the f32 file's tensor, and MatMul on the stored blocks agrees
// with float64 math on the decoded weights. A wrong bit layout gives errors near 100%, far above
// the bounds, so this pins the decoding to what GGUF files mean.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

// Relative RMS error bound of a tensor stored as `type` vs the f32 original (llama.cpp's
// quantizers on Gaussian weights; our own round trips measure 0.7-0.9x of these).
double Bound(DType type) {
  switch (type) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 5e-4;
    case DType::kBF16:
      return 4e-3;
    case DType::kQ8_0:
      return 0.008;
    case DType::kQ6_K:
      return 0.03;
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ5_K:
      return 0.06;
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ4_K:
      return 0.12;
    case DType::kQ3_K:
      return 0.22;
    case DType::kQ2_K:
      return 0.40;
    default:
      return -1;
  }
}

TEST(KernelsGgufTest, DequantizedTensorsMatchF32File) {
  REQUIRE_SHARED_TESTDATA();
  auto f32 = GgufFile::Open(testing::SharedTestdataPath("models/tiny-llama-f32.gguf"));
  ASSERT_TRUE(f32.ok()) << f32.status().ToString();
  for (const char* name : {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k",
                           "q4_k", "q5_k", "q6_k", "q4_k_m"}) {
    auto file = GgufFile::Open(
        testing::SharedTestdataPath(std::string("models/tiny-llama-") + name + ".gguf"));
    ASSERT_TRUE(file.ok()) << name << ": " << file.status().ToString();
    int checked = 0;
    double worst = 0;
    for (const GgufTensorInfo& t : (*file)->tensors()) {
      const GgufTensorInfo* ref = (*f32)->FindTensor(t.name);
      ASSERT_NE(ref, nullptr) << t.name;
      ASSERT_EQ(ref->n_elements, t.n_elements) << t.name;
      ASSERT_TRUE(kernels::CanDequantize(t.type))
          << name << " " << t.name << " " << DTypeName(t.type);
      std::vector<float> got(t.n_elements), want(t.n_elements);
      kernels::DequantizeRow(t.type, t.data, got.data(), t.n_elements);
      kernels::DequantizeRow(DType::kF32, ref->data, want.data(), t.n_elements);
      double se = 0, s2 = 0;
      for (int64_t i = 0; i < t.n_elements; ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << t.name;
        se += (got[i] - want[i]) * static_cast<double>(got[i] - want[i]);
        s2 += static_cast<double>(want[i]) * want[i];
      }
      const double rel = s2 > 0 ? std::sqrt(se / s2) : std::sqrt(se);
      EXPECT_LE(rel, Bound(t.type)) << name << " " << t.name << " (" << DTypeName(t.type) << ")";
      worst = std::max(worst, rel / std::max(Bound(t.type), 1e-12));
      ++checked;
    }
    std::printf("  tiny-llama-%-6s %d tensors, worst error %.2f of its bound\n", name, checked,
                worst);
    EXPECT_GT(checked, 10) << name;
  }
}

TEST(KernelsGgufTest, MatMulOnFileBlocksMatchesDecodedMath) {
  REQUIRE_SHARED_TESTDATA();
  ThreadPool pool(2);
  for (const char* name : {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k",
                           "q4_k", "q5_k", "q6_k"}) {
    auto file = GgufFile::Open(
        testing::SharedTestdataPath(std::string("models/tiny-llama-") + name + ".gguf"));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    for (const char* tensor : {"blk.0.ffn_down.weight", "blk.1.attn_q.weight", "output.weight"}) {
      const GgufTensorInfo* t = (*file)->FindTensor(tensor);
      ASSERT_NE(t, nullptr) << tensor;
      ASSERT_EQ(t->dims.size(), 2u);
      const int64_t cols = t->dims[0], rows = t->dims[1], n_tokens = 3;
      const kernels::WeightMatrix w{t->type, t->data, rows, cols, RowBytes(t->type, cols)};
      std::mt19937 rng(9);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> x(n_tokens * cols), y(n_tokens * rows), wd(rows * cols);
      for (auto& v : x) v = dist(rng);
      kernels::DequantizeRow(t->type, t->data, wd.data(), rows * cols);
      kernels::MatMul(w, x.data(), n_tokens, y.data(), &pool);
      double se = 0, s2 = 0;
      for (int64_t k = 0; k < n_tokens; ++k)
        for (int64_t r = 0; r < rows; ++r) {
          double e = 0;
          for (int64_t i = 0; i < cols; ++i)
            e += static_cast<double>(wd[r * cols + i]) * x[k * cols + i];
          se += (y[k * rows + r] - e) * (y[k * rows + r] - e);
          s2 += e * e;
        }
      const bool is_float = !GetDTypeInfo(t->type).quantized;
      EXPECT_LE(std::sqrt(se / s2), is_float ? 1e-6 : 0.012)
          << name << " " << tensor << " via " << kernels::MatMulVariant(t->type);
    }
  }
}

}  // namespace
}  // namespace odlm
