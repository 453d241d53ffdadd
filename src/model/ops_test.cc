#include "model/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace odlm {
namespace {

TEST(OpsTest, RmsNormMatchesDefinition) {
  const float x[4] = {1, -2, 3, -4};
  const float w[4] = {1, 1, 2, 0.5f};
  float out[4];
  RmsNorm(x, w, 4, 0.0f, out);
  const float rms = std::sqrt((1 + 4 + 9 + 16) / 4.0f);
  EXPECT_NEAR(out[0], 1 / rms, 1e-6);
  EXPECT_NEAR(out[2], 2 * 3 / rms, 1e-6);
  EXPECT_NEAR(out[3], 0.5f * -4 / rms, 1e-6);
}

TEST(OpsTest, SoftmaxSumsToOneAndIsShiftInvariant) {
  float a[3] = {1, 2, 3}, b[3] = {1001, 1002, 1003};
  SoftmaxInPlace(a, 3);
  SoftmaxInPlace(b, 3);
  EXPECT_NEAR(a[0] + a[1] + a[2], 1.0f, 1e-6);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
  EXPECT_NEAR(a[2] / a[1], std::exp(1.0f), 1e-5);
}

TEST(OpsTest, SiluMul) {
  float g[2] = {0.0f, 2.0f};
  const float u[2] = {3.0f, 0.5f};
  SiluMulInPlace(g, u, 2);
  EXPECT_FLOAT_EQ(g[0], 0.0f);
  EXPECT_NEAR(g[1], 2.0f / (1 + std::exp(-2.0f)) * 0.5f, 1e-6);
}

ModelConfig RopeConfig(RopeStyle style) {
  ModelConfig c;
  c.head_dim = 4;
  c.rope_style = style;
  c.rope_freq_base = 10000.0f;
  return c;
}

TEST(OpsTest, RopeRotatesTheRightPairs) {
  // head_dim 4: pair frequencies 1 and 1/100 (base^(-2/4)).
  const double pos = 3;
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    Rope rope(RopeConfig(style));
    float x[4] = {1, 2, 3, 4};
    rope.Apply(x, 1, 3);
    const int a0 = 0, b0 = style == RopeStyle::kNormal ? 1 : 2;
    const int a1 = style == RopeStyle::kNormal ? 2 : 1, b1 = 3;
    const float in[4] = {1, 2, 3, 4};
    const double t0 = pos * 1.0, t1 = pos * 0.01;
    EXPECT_NEAR(x[a0], in[a0] * std::cos(t0) - in[b0] * std::sin(t0), 1e-5);
    EXPECT_NEAR(x[b0], in[a0] * std::sin(t0) + in[b0] * std::cos(t0), 1e-5);
    EXPECT_NEAR(x[a1], in[a1] * std::cos(t1) - in[b1] * std::sin(t1), 1e-5);
    EXPECT_NEAR(x[b1], in[a1] * std::sin(t1) + in[b1] * std::cos(t1), 1e-5);
  }
}

TEST(OpsTest, RopeLinearScalingAndFrequencyFactors) {
  ModelConfig c = RopeConfig(RopeStyle::kNormal);
  c.rope_linear_factor = 2.0f;
  Rope scaled(c);
  Rope plain(RopeConfig(RopeStyle::kNormal));
  float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
  scaled.Apply(a, 1, 6);
  plain.Apply(b, 1, 3);  // position 6 at factor 2 == position 3 unscaled
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
  ModelConfig f = RopeConfig(RopeStyle::kNormal);
  f.rope_freq_factors = {1.0f, 4.0f};  // second pair's frequency divided by 4
  Rope factored(f);
  float x[4] = {0, 0, 1, 0};
  factored.Apply(x, 1, 8);
  EXPECT_NEAR(x[2], std::cos(8 * 0.01 / 4), 1e-5);
  EXPECT_NEAR(x[3], std::sin(8 * 0.01 / 4), 1e-5);
}

TEST(OpsTest, RopePartialRotationLeavesTheTailAlone) {
  // head_dim 8, rope_dims 4: dims 0-3 rotate as a 4-dim head with base^(-2i/4); 4-7 pass through.
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    ModelConfig partial = RopeConfig(style);
    partial.head_dim = 8;
    partial.rope_dims = 4;
    Rope rope(partial);
    Rope four(RopeConfig(style));  // head_dim 4, all rotated
    float x[16], y[8];
    for (int i = 0; i < 16; ++i) x[i] = 0.5f + i;
    for (int h = 0; h < 2; ++h) {
      for (int i = 0; i < 4; ++i) y[h * 4 + i] = x[h * 8 + i];
    }
    rope.Apply(x, 2, 5);
    four.Apply(y, 2, 5);
    for (int h = 0; h < 2; ++h) {
      for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(x[h * 8 + i], y[h * 4 + i]) << h << " " << i;
      for (int i = 4; i < 8; ++i) EXPECT_FLOAT_EQ(x[h * 8 + i], 0.5f + h * 8 + i);
    }
  }
}

TEST(OpsTest, RopeAttnFactorScalesTheRotation) {
  ModelConfig c = RopeConfig(RopeStyle::kNeox);
  c.rope_attn_factor = 1.25f;
  Rope scaled(c), plain(RopeConfig(RopeStyle::kNeox));
  float a[4] = {1, -2, 3, 0.5f}, b[4] = {1, -2, 3, 0.5f};
  scaled.Apply(a, 1, 7);
  plain.Apply(b, 1, 7);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i], 1.25f * b[i], 1e-5);
  // ApplyInverse is Apply's transpose: <Apply(u), v> == <u, ApplyInverse(v)>.
  float u[4] = {0.3f, 1, -1, 2}, v[4] = {2, 0.1f, 0.7f, -1}, ru[4], rv[4];
  std::copy(u, u + 4, ru);
  std::copy(v, v + 4, rv);
  scaled.Apply(ru, 1, 11);
  scaled.ApplyInverse(rv, 1, 11);
  double lhs = 0, rhs = 0;
  for (int i = 0; i < 4; ++i) lhs += ru[i] * v[i], rhs += u[i] * rv[i];
  EXPECT_NEAR(lhs, rhs, 1e-5);
}

}  // namespace
}  // namespace odlm
