// kernels/interleave_test.cc — the 8-row interleaved layout: its bytes are where interleave.h
// says, repacking is lossless, and the kernels over it agree with the row-major product (the
// per-variant conformance against the scalar reference is in matmul_conformance_test.cc).
#include "kernels/interleave.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul_ops.h"
#include "kernels/quant.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/block_layouts.h"

namespace odlm::kernels {
namespace {

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::vector<uint8_t> QuantizedMatrix(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t rb = RowBytes(type, cols);
  std::vector<uint8_t> w(rows * rb);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    QuantizeRow(type, row.data(), w.data() + r * rb, cols);
  }
  return w;
}

std::vector<uint8_t> Interleaved(const WeightMatrix& m) {
  std::vector<uint8_t> out(InterleavedBytes(m));
  InterleaveRows(m, out.data(), nullptr);
  return out;
}

TEST(InterleaveTest, BytesAreWhereTheHeaderSays) {
  for (DType type : {DType::kQ4_0, DType::kQ8_0}) {
    const int q = type == DType::kQ4_0 ? 16 : 32;
    const int64_t rows = 16, cols = 96, rb = RowBytes(type, cols);
    const auto w = RandomBytes(rows * rb, 3);
    const WeightMatrix m{type, w.data(), rows, cols, rb};
    const auto x8 = Interleaved(m);
    ASSERT_EQ(static_cast<int64_t>(x8.size()), rows * rb);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t g = r / 8, i = r % 8;
      for (int64_t b = 0; b < cols / 32; ++b) {
        const uint8_t* block = w.data() + r * rb + b * (2 + q);
        const uint8_t* gb = x8.data() + g * 8 * rb + b * (16 + 8 * q);
        ASSERT_EQ(0, std::memcmp(gb + 2 * i, block, 2)) << DTypeName(type) << " row " << r;
        for (int j = 0; j < q; ++j) {
          ASSERT_EQ(gb[16 + 32 * (j / 4) + 4 * i + j % 4], block[2 + j])
              << DTypeName(type) << " row " << r << " block " << b << " byte " << j;
        }
      }
    }
  }
}

TEST(InterleaveTest, Q4KBytesAreWhereTheHeaderSays) {
  const int64_t rows = 16, cols = 512, rb = RowBytes(DType::kQ4_K, cols);
  const auto w = QuantizedMatrix(DType::kQ4_K, rows, cols, 4);
  const WeightMatrix m{DType::kQ4_K, w.data(), rows, cols, rb};
  const auto x8 = Interleaved(m);
  ASSERT_EQ(static_cast<int64_t>(x8.size()), rows / 8 * 2 * kQ4KGroupBlockBytes);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = r / 8, i = r % 8;
    for (int64_t b = 0; b < cols / 256; ++b) {
      const auto* block = reinterpret_cast<const BlockQ4_K*>(w.data() + r * rb) + b;
      const uint8_t* gb = x8.data() + (g * 2 + b) * kQ4KGroupBlockBytes;
      ASSERT_EQ(0, std::memcmp(gb + 2 * i, &block->d, 2)) << r;
      ASSERT_EQ(0, std::memcmp(gb + 16 + 2 * i, &block->dmin, 2)) << r;
      for (int j = 0; j < 8; ++j) {
        int sc = 0, mn = 0;
        ref::UnpackScaleMinK4(block->scales, j, &sc, &mn);
        ASSERT_EQ(gb[32 + 8 * j + i], sc) << "row " << r << " sub-block " << j;
        ASSERT_EQ(gb[96 + 8 * j + i], mn) << "row " << r << " sub-block " << j;
      }
      for (int k = 0; k < 128; ++k) {
        ASSERT_EQ(gb[160 + 32 * (k / 4) + 4 * i + k % 4], block->qs[k]) << "row " << r << " " << k;
      }
    }
  }
}

TEST(InterleaveTest, RoundTripIsLossless) {
  ThreadPool pool(2);
  for (DType type : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const int64_t rows = 40, cols = 512, rb = RowBytes(type, cols);
    const auto w = RandomBytes(rows * rb, 7);
    const WeightMatrix m{type, w.data(), rows, cols, rb};
    std::vector<uint8_t> x8(InterleavedBytes(m));
    InterleaveRows(m, x8.data(), &pool);
    EXPECT_EQ(x8, Interleaved(m)) << "the pool must not change the bytes";
    std::vector<uint8_t> back(w.size(), 0xcd);
    DeinterleaveRows(type, x8.data(), rows, cols, back.data());
    EXPECT_EQ(back, w) << DTypeName(type);
  }
}

TEST(InterleaveTest, OnlyWholeGroupsOfContiguousRowsOfTheLayoutTypes) {
  std::vector<uint8_t> w(64 * 1024);
  EXPECT_TRUE(CanInterleave({DType::kQ4_0, w.data(), 16, 64, RowBytes(DType::kQ4_0, 64)}));
  EXPECT_FALSE(CanInterleave({DType::kQ4_0, w.data(), 12, 64, RowBytes(DType::kQ4_0, 64)}));
  EXPECT_FALSE(CanInterleave({DType::kQ4_0, w.data(), 16, 64, RowBytes(DType::kQ4_0, 64) + 2}));
  EXPECT_TRUE(CanInterleave({DType::kQ4_K, w.data(), 16, 256, RowBytes(DType::kQ4_K, 256)}));
  EXPECT_TRUE(CanInterleave({DType::kQ6_K, w.data(), 16, 256, RowBytes(DType::kQ6_K, 256)}));
  EXPECT_FALSE(CanInterleave({DType::kQ5_K, w.data(), 16, 256, RowBytes(DType::kQ5_K, 256)}));
  EXPECT_FALSE(CanInterleave({DType::kF32, w.data(), 16, 64, 256}));
}

TEST(InterleaveTest, LayoutPaysExactlyWhereTheVariantHasAKernel) {
  for (DType type :
       {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K, DType::kQ5_K, DType::kF16}) {
    const internal::MatMulOps* ops = internal::SelectedOpsFor(type);
    ASSERT_NE(ops, nullptr);
    EXPECT_EQ(InterleavedLayoutPays(type), ops->gemm_x8 != nullptr) << DTypeName(type);
    std::printf("  %-5s interleaved kernel on this CPU: %s (%s)\n", DTypeName(type).data(),
                InterleavedLayoutPays(type) ? "yes" : "no", ops->variant.data());
  }
}

// The variants with an interleaved kernel, for `type`, on this CPU.
std::vector<const internal::MatMulOps*> X8Variants(DType type) {
  const internal::MatMulOps* ops[3];
  const int n = internal::RunnableOps(type, ops);
  std::vector<const internal::MatMulOps*> out;
  for (int i = 0; i < n; ++i) {
    if (ops[i]->gemm_x8 != nullptr) out.push_back(ops[i]);
  }
  if (out.empty()) {
    std::printf("  SKIPPED: no variant this CPU runs has an interleaved %s kernel\n",
                DTypeName(type).data());
  }
  return out;
}

// Q4_0's AVX2 kernel keeps a block's sums in int16 lanes: every code 15 against every activation
// at +127 is the largest they reach (8 · 2 · 15 · 127). Also the most negative: codes 0 (−8).
TEST(InterleaveTest, LargestBlockSumsAreExact) {
  const int64_t rows = 8, cols = 64, rb = RowBytes(DType::kQ4_0, cols);
  for (uint8_t code_byte : {uint8_t{0xff}, uint8_t{0x00}}) {
    std::vector<uint8_t> w(rows * rb, code_byte);
    for (int64_t blk = 0; blk < rows * cols / 32; ++blk) {
      const uint16_t one = 0x3c00;  // f16 1.0
      std::memcpy(w.data() + blk * 18, &one, 2);
    }
    WeightMatrix m{DType::kQ4_0, w.data(), rows, cols, rb};
    const auto x8 = Interleaved(m);
    m.interleaved = x8.data();
    std::vector<float> x(cols, 1.0f);  // quantizes to 127 with scale f16(1/127)
    std::vector<float> want(rows);
    internal::MatMulWithOps(*internal::RefOps(DType::kQ4_0), m, x.data(), 1, want.data(), nullptr);
    const float code = code_byte == 0xff ? 7.0f : -8.0f;
    ASSERT_NEAR(want[0], code * cols, 0.05f);  // 127 · f16(1/127) is 1 within f16 rounding
    for (const internal::MatMulOps* ops : X8Variants(DType::kQ4_0)) {
      std::vector<float> y(rows);
      internal::MatMulWithOps(*ops, m, x.data(), 1, y.data(), nullptr);
      for (int64_t r = 0; r < rows; ++r) {
        EXPECT_NEAR(y[r], want[r], 1e-5f * cols) << ops->variant << " row " << r;
      }
    }
  }
}

// Q4_K's AVX2 kernel also sums a sub-block in int16: every code 15, every scale and min 63 (all
// bytes 0xff) against activations at +127 is its largest case.
TEST(InterleaveTest, LargestQ4KSubBlockSumsAreExact) {
  const int64_t rows = 8, cols = 512, rb = RowBytes(DType::kQ4_K, cols);
  std::vector<uint8_t> w(rows * rb, 0xff);
  for (int64_t blk = 0; blk < rows * cols / 256; ++blk) {
    const uint16_t one = 0x3c00, half = 0x3800;  // f16 1.0 (d) and 0.5 (dmin)
    std::memcpy(w.data() + blk * 144, &one, 2);
    std::memcpy(w.data() + blk * 144 + 2, &half, 2);
  }
  WeightMatrix m{DType::kQ4_K, w.data(), rows, cols, rb};
  const auto x8 = Interleaved(m);
  m.interleaved = x8.data();
  std::vector<float> x(cols, 1.0f);
  std::vector<float> want(rows);
  internal::MatMulWithOps(*internal::RefOps(DType::kQ4_K), m, x.data(), 1, want.data(), nullptr);
  ASSERT_GT(std::fabs(want[0]), 1000.0f);
  for (const internal::MatMulOps* ops : X8Variants(DType::kQ4_K)) {
    std::vector<float> y(rows);
    internal::MatMulWithOps(*ops, m, x.data(), 1, y.data(), nullptr);
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_NEAR(y[r], want[r], 1e-5f * std::fabs(want[r])) << ops->variant << " row " << r;
    }
  }
}

TEST(InterleaveTest, Q6KBytesAreWhereTheHeaderSays) {
  const int64_t rows = 16, cols = 512, rb = RowBytes(DType::kQ6_K, cols);
  const auto w = RandomBytes(rows * rb, 6);
  const WeightMatrix m{DType::kQ6_K, w.data(), rows, cols, rb};
  const auto x8 = Interleaved(m);
  ASSERT_EQ(static_cast<int64_t>(x8.size()), rows * rb);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t g = r / 8, i = r % 8;
    for (int64_t b = 0; b < cols / 256; ++b) {
      const auto* block = reinterpret_cast<const BlockQ6_K*>(w.data() + r * rb) + b;
      const uint8_t* gb = x8.data() + (g * 2 + b) * kQ6KGroupBlockBytes;
      ASSERT_EQ(0, std::memcmp(gb + 2 * i, &block->d, 2)) << r;
      for (int j = 0; j < 16; ++j)
        ASSERT_EQ(static_cast<int8_t>(gb[16 + 8 * j + i]), block->scales[j]);
      for (int k = 0; k < 128; ++k) ASSERT_EQ(gb[144 + 32 * (k / 4) + 4 * i + k % 4], block->ql[k]);
      for (int k = 0; k < 64; ++k) ASSERT_EQ(gb[1168 + 32 * (k / 4) + 4 * i + k % 4], block->qh[k]);
    }
  }
}

// Q6_K pairs two words' sums in int16: codes 63 against activations at +127, scales ±127/−128.
TEST(InterleaveTest, LargestQ6KSumsAreExact) {
  const int64_t rows = 8, cols = 256, rb = RowBytes(DType::kQ6_K, cols);
  for (uint8_t scale_byte : {uint8_t{0x7f}, uint8_t{0x80}}) {
    std::vector<uint8_t> w(rows * rb, 0xff);  // every code 63
    for (int64_t r = 0; r < rows; ++r) {
      auto* b = reinterpret_cast<BlockQ6_K*>(w.data() + r * rb);
      std::memset(b->scales, scale_byte, sizeof(b->scales));
      b->d = 0x3c00;
    }
    WeightMatrix m{DType::kQ6_K, w.data(), rows, cols, rb};
    const auto x8 = Interleaved(m);
    m.interleaved = x8.data();
    std::vector<float> x(cols, 1.0f), want(rows);
    internal::MatMulWithOps(*internal::RefOps(DType::kQ6_K), m, x.data(), 1, want.data(), nullptr);
    ASSERT_GT(std::fabs(want[0]), 1000.0f);
    for (const internal::MatMulOps* ops : X8Variants(DType::kQ6_K)) {
      std::vector<float> y(rows);
      internal::MatMulWithOps(*ops, m, x.data(), 1, y.data(), nullptr);
      for (int64_t r = 0; r < rows; ++r) {
        EXPECT_NEAR(y[r], want[r], 1e-5f * std::fabs(want[r])) << ops->variant << " row " << r;
      }
    }
  }
}

// Each element goes through the same operations whatever the token count, the token's place in
// the batch or the thread split: batched decode equals single-token decode bit for bit.
TEST(InterleaveTest, ResultsDoNotDependOnBatchOrThreads) {
  ThreadPool pool(2);
  for (DType type : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const int64_t rows = 48, cols = 512;
    const auto w = QuantizedMatrix(type, rows, cols, 5);
    WeightMatrix m{type, w.data(), rows, cols, RowBytes(type, cols)};
    const auto x8 = Interleaved(m);
    m.interleaved = x8.data();
    const int64_t n_tokens = 11;
    std::vector<float> x(n_tokens * cols);
    std::mt19937 rng(9);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (auto& v : x) v = dist(rng);
    for (const internal::MatMulOps* ops : X8Variants(type)) {
      std::vector<float> batched(n_tokens * rows);
      internal::MatMulWithOps(*ops, m, x.data(), n_tokens, batched.data(), &pool);
      for (int64_t t = 0; t < n_tokens; ++t) {
        std::vector<float> one(rows);
        internal::MatMulWithOps(*ops, m, x.data() + t * cols, 1, one.data(), nullptr);
        ASSERT_EQ(0, std::memcmp(one.data(), batched.data() + t * rows, rows * sizeof(float)))
            << DTypeName(type) << " " << ops->variant << " token " << t;
      }
    }
  }
}

// MatMulMany splits all matrices' rows in one pass; with interleaved copies it must still equal
// MatMul per matrix, bit for bit.
TEST(InterleaveTest, MatMulManyUsesTheInterleavedCopies) {
  ThreadPool pool(2);
  const int64_t cols = 256;
  const auto wa = QuantizedMatrix(DType::kQ4_0, 24, cols, 1);
  const auto wb = QuantizedMatrix(DType::kQ8_0, 40, cols, 2);
  WeightMatrix a{DType::kQ4_0, wa.data(), 24, cols, RowBytes(DType::kQ4_0, cols)};
  WeightMatrix b{DType::kQ8_0, wb.data(), 40, cols, RowBytes(DType::kQ8_0, cols)};
  const auto xa = Interleaved(a), xb = Interleaved(b);
  a.interleaved = xa.data();
  b.interleaved = xb.data();
  std::vector<float> x(3 * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  for (int64_t nt : {1, 3}) {
    std::vector<float> ya(nt * 24), yb(nt * 40), ya1(nt * 24), yb1(nt * 40);
    const MatMulOutput outs[] = {{&a, ya.data()}, {&b, yb.data()}};
    MatMulMany(outs, x.data(), nt, &pool);
    MatMul(a, x.data(), nt, ya1.data(), &pool);
    MatMul(b, x.data(), nt, yb1.data(), &pool);
    EXPECT_EQ(ya, ya1) << nt;
    EXPECT_EQ(yb, yb1) << nt;
  }
}

}  // namespace
}  // namespace odlm::kernels
