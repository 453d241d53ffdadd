// kernels/quant_test.cc — reference quantize/dequantize: round-trip error bounds per type, decoding
// of hand-built blocks with known values, and edge cases (all-zero, max magnitude, denormal
// scales).
#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/block_layouts.h"
#include "tensor/half.h"

namespace odlm::kernels {
namespace {

std::vector<float> RandomNormal(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// RMS(decoded - x) / RMS(x).
double RoundTripRelativeRms(DType type, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(RowBytes(type, n));
  std::vector<float> y(n);
  QuantizeRow(type, x.data(), q.data(), n);
  DequantizeRow(type, q.data(), y.data(), n);
  double se = 0, sx = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(std::isfinite(y[i])) << DTypeName(type) << " at " << i;
    se += (y[i] - x[i]) * static_cast<double>(y[i] - x[i]);
    sx += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(se / sx);
}

struct Bound {
  DType type;
  double max_rel_rms;  // measured on N(0,1) data, rounded up with ~10% headroom
};

// Measured relative RMS errors on N(0,1) data, 64K values (printed by the test): f16 2.1e-4,
// bf16 1.7e-3, q8_0 5.4e-3, q8_K 6.9e-3, q6_K 0.017, q5_0 0.043, q5_1 0.038, q5_K 0.036,
// q4_0 0.086, q4_1 0.078, q4_K 0.073, q3_K 0.148, q2_K 0.283.
constexpr Bound kBounds[] = {
    {DType::kF32, 0.0},     {DType::kF16, 3e-4},   {DType::kBF16, 2.5e-3}, {DType::kQ8_0, 0.006},
    {DType::kQ8_K, 0.0075}, {DType::kQ8_1, 0.006}, {DType::kQ6_K, 0.02},   {DType::kQ5_0, 0.05},
    {DType::kQ5_1, 0.045},  {DType::kQ5_K, 0.04},  {DType::kQ4_0, 0.10},   {DType::kQ4_1, 0.09},
    {DType::kQ4_K, 0.08},   {DType::kQ3_K, 0.17},  {DType::kQ2_K, 0.33},
};

TEST(QuantTest, RoundTripErrorWithinBounds) {
  const std::vector<float> x = RandomNormal(1 << 16, 42);
  for (const Bound& b : kBounds) {
    ASSERT_TRUE(HasReferenceQuantizer(b.type));
    ASSERT_TRUE(CanDequantize(b.type));
    const double err = RoundTripRelativeRms(b.type, x);
    std::printf("  %-5s relative RMS error %.5f (bound %.5f)\n", DTypeName(b.type).data(), err,
                b.max_rel_rms);
    EXPECT_LE(err, b.max_rel_rms) << DTypeName(b.type);
  }
}

TEST(QuantTest, ScaleInvariantErrors) {
  // Tiny and large magnitudes quantize as well as unit ones (within the f16 scale range).
  for (float sigma : {1e-3f, 50.0f}) {
    const std::vector<float> x = RandomNormal(4096, 7, sigma);
    for (const Bound& b : kBounds) {
      if (b.type == DType::kF16 || b.type == DType::kBF16 || b.type == DType::kF32) continue;
      EXPECT_LE(RoundTripRelativeRms(b.type, x), b.max_rel_rms * 1.3)
          << DTypeName(b.type) << " sigma " << sigma;
    }
  }
}

TEST(QuantTest, AllZeroBlocksDecodeToZero) {
  for (const Bound& b : kBounds) {
    const int64_t n = 512;
    std::vector<float> x(n, 0.0f), y(n, 1.0f);
    std::vector<uint8_t> q(RowBytes(b.type, n));
    QuantizeRow(b.type, x.data(), q.data(), n);
    DequantizeRow(b.type, q.data(), y.data(), n);
    for (float v : y) ASSERT_EQ(v, 0.0f) << DTypeName(b.type);
  }
}

TEST(QuantTest, ConstantAndOutlierBlocks) {
  // A constant positive row (no negative values: the K-quant min must clamp at 0) and a row with a
  // single huge outlier: the output stays finite and the outlier is kept to within a few percent.
  for (const Bound& b : kBounds) {
    const int64_t n = 256;
    std::vector<float> c(n, 0.75f), y(n);
    std::vector<uint8_t> q(RowBytes(b.type, n));
    QuantizeRow(b.type, c.data(), q.data(), n);
    DequantizeRow(b.type, q.data(), y.data(), n);
    for (float v : y) ASSERT_NEAR(v, 0.75f, 0.75f * 0.05) << DTypeName(b.type);

    std::vector<float> o = RandomNormal(n, 3, 0.01f);
    o[77] = 1000.0f;
    QuantizeRow(b.type, o.data(), q.data(), n);
    DequantizeRow(b.type, q.data(), y.data(), n);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << DTypeName(b.type);
    EXPECT_NEAR(y[77], 1000.0f, 1000.0f * 0.05) << DTypeName(b.type);
  }
}

TEST(DequantTest, Q4_0KnownBlock) {
  BlockQ4_0 b;
  b.d = FloatToHalf(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  DequantizeRow(DType::kQ4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * (j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * (15 - j - 8));
  }
}

TEST(DequantTest, Q5_0AndQ5_1HighBits) {
  BlockQ5_0 b;
  b.d = FloatToHalf(-2.0f);                     // negative scale: decodes with the sign flipped
  for (int j = 0; j < 16; ++j) b.qs[j] = 0x3c;  // low nibble 12, high nibble 3
  const uint32_t qh = 0x80000001u;              // weight 0 and weight 31 get the 5th bit
  std::memcpy(b.qh, &qh, 4);
  float y[32];
  DequantizeRow(DType::kQ5_0, &b, y, 32);
  EXPECT_EQ(y[0], -2.0f * (12 + 16 - 16));
  EXPECT_EQ(y[1], -2.0f * (12 - 16));
  EXPECT_EQ(y[16], -2.0f * (3 - 16));
  EXPECT_EQ(y[31], -2.0f * (3 + 16 - 16));

  BlockQ5_1 c;
  c.d = FloatToHalf(0.25f);
  c.m = FloatToHalf(-1.0f);
  for (int j = 0; j < 16; ++j) c.qs[j] = 0xf0;  // low 0, high 15
  const uint32_t qh1 = 0x00010000u;             // weight 16
  std::memcpy(c.qh, &qh1, 4);
  DequantizeRow(DType::kQ5_1, &c, y, 32);
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[16], 0.25f * 31 - 1.0f);
  EXPECT_EQ(y[17], 0.25f * 15 - 1.0f);
}

TEST(DequantTest, DenormalHalfScale) {
  BlockQ8_0 b;
  b.d = 0x0001;  // smallest half denormal, 2^-24
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j % 2 ? -128 : 127);
  float y[32];
  DequantizeRow(DType::kQ8_0, &b, y, 32);
  EXPECT_EQ(y[0], 127.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(y[1], -128.0f * std::ldexp(1.0f, -24));
}

TEST(DequantTest, Q4_KKnownScalesAndMins) {
  BlockQ4_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = FloatToHalf(1.0f);
  b.dmin = FloatToHalf(0.5f);
  // Sub-block 0: scale 1, min 2; sub-block 5: scale 63 (6 bits: low nibble 15 in byte 9, top 2
  // bits 3 in byte 1), min 33 (low nibble 1 in byte 9 high half, top 2 bits 2 in byte 5).
  b.scales[0] = 1;
  b.scales[4] = 2;
  b.scales[9] = 0x1f;
  b.scales[1] |= 3 << 6;
  b.scales[5] |= 2 << 6;
  for (int l = 0; l < 32; ++l) b.qs[l] = 0x07;       // sub-block 0 codes 7, sub-block 1 codes 0
  for (int l = 0; l < 32; ++l) b.qs[64 + l] = 0x90;  // sub-block 4 code 0, sub-block 5 code 9
  float y[256];
  DequantizeRow(DType::kQ4_K, &b, y, 256);
  EXPECT_EQ(y[0], 1.0f * 7 - 0.5f * 2);
  EXPECT_EQ(y[32 * 5 + 3], 63.0f * 9 - 0.5f * 33);
}

TEST(DequantTest, Q6_KNegativeScalesAndCodes) {
  BlockQ6_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = FloatToHalf(0.125f);
  for (int k = 0; k < 16; ++k) b.scales[k] = static_cast<int8_t>(k % 2 ? -128 : 127);
  // Element 0: code 63 (low 15 in ql[0] low nibble, high 3 in qh[0] bits 0-1).
  b.ql[0] = 0x0f;
  b.qh[0] = 0x03;
  float y[256];
  DequantizeRow(DType::kQ6_K, &b, y, 256);
  EXPECT_EQ(y[0], 0.125f * 127 * (63 - 32));
  EXPECT_EQ(y[16], 0.125f * -128 * (0 - 32));  // sub-block 1, code 0
  // Element 64 (ql[0] high nibble = 0, qh[0] bits 4-5 = 0): code 0, sub-block 4 scale 127.
  EXPECT_EQ(y[64], 0.125f * 127 * -32);
}

TEST(DequantTest, Q3_KScalesAndHighBit) {
  BlockQ3_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = FloatToHalf(1.0f);
  // Scale 0 stored 0 -> -32; scale 9: low nibble in byte 1 high half = 5, top bits in byte 9 bits
  // 4-5 = 2 -> 37 - 32 = 5.
  b.scales[1] = 0x50;
  b.scales[9] = 2 << 4;
  b.hmask[0] = 0x01;  // element 0: high bit set -> code low (0) + 0 = 0
  b.qs[0] = 0x03;     // element 0 low bits 3 -> code 3
  float y[256];
  DequantizeRow(DType::kQ3_K, &b, y, 256);
  EXPECT_EQ(y[0], -32.0f * 3);
  EXPECT_EQ(y[1], -32.0f * -4);  // high bit clear, low 0 -> -4
  // Element 144 = 128 + 16: h=1, j=0, l=16 -> sub-block 9, code -4.
  EXPECT_EQ(y[144], 5.0f * -4);
}

TEST(DequantTest, Q2_KNibbles) {
  BlockQ2_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = FloatToHalf(2.0f);
  b.dmin = FloatToHalf(1.0f);
  b.scales[3] = 0x5a;  // sub-block 3: scale 10, min 5
  b.qs[16] = 0x0c;     // element 48 = 32*1 + 16: bits 2-3 of qs[16] = 3
  float y[256];
  DequantizeRow(DType::kQ2_K, &b, y, 256);
  EXPECT_EQ(y[48], 2.0f * 10 * 3 - 5.0f);
  EXPECT_EQ(y[49], -5.0f);
}

TEST(DequantTest, MaxMagnitudeHalfScalesStayFinite) {
  BlockQ8_0 b;
  b.d = 0x7bff;  // 65504
  for (int j = 0; j < 32; ++j) b.qs[j] = -128;
  float y[32];
  DequantizeRow(DType::kQ8_0, &b, y, 32);
  for (float v : y) EXPECT_EQ(v, -128.0f * 65504.0f);
}

}  // namespace
}  // namespace odlm::kernels
