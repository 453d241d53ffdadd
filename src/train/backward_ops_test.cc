// train/backward_ops_test.cc — each backward op against float64 central finite differences of a
// float64 forward of the same math, on small random shapes.
#include "train/backward_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace odlm::train {
namespace {

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// d/dx_i of f at x by central differences in float64.
std::vector<double> NumericGrad(const std::function<double(const std::vector<double>&)>& f,
                                std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = f(x);
    x[i] = keep - h;
    const double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

void ExpectClose(const std::vector<float>& got, const std::vector<double>& want, double rel) {
  ASSERT_EQ(got.size(), want.size());
  double max_ref = 1e-12;
  for (double w : want) max_ref = std::max(max_ref, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], rel * max_ref) << "element " << i;
  }
}

// Loss L = Σ c_i · y_i with fixed random c, so dL/dy = c.
TEST(BackwardOpsTest, RmsNormMatchesFiniteDifferences) {
  const int n = 13;
  const float eps = 1e-5f;
  const auto x = Random(n, 1), w = Random(n, 2), c = Random(n, 3);
  auto forward = [&](const std::vector<double>& xx, const std::vector<double>& ww) {
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += xx[i] * xx[i];
    const double r = 1.0 / std::sqrt(ss / n + eps);
    double loss = 0;
    for (int i = 0; i < n; ++i) loss += c[i] * xx[i] * r * ww[i];
    return loss;
  };
  std::vector<float> dx(n), dw(n, 0.0f);
  RmsNormBackward(x.data(), w.data(), c.data(), n, eps, dx.data(), dw.data());
  const auto wd = ToDouble(w), xd = ToDouble(x);
  ExpectClose(dx, NumericGrad([&](const auto& v) { return forward(v, wd); }, xd), 1e-6);
  ExpectClose(dw, NumericGrad([&](const auto& v) { return forward(xd, v); }, wd), 1e-6);
}

TEST(BackwardOpsTest, SiluMulMatchesFiniteDifferences) {
  const int n = 19;
  const auto g = Random(n, 4, 3.0f), u = Random(n, 5), c = Random(n, 6);
  auto forward = [&](const std::vector<double>& gg, const std::vector<double>& uu) {
    double loss = 0;
    for (int i = 0; i < n; ++i) loss += c[i] * gg[i] / (1 + std::exp(-gg[i])) * uu[i];
    return loss;
  };
  std::vector<float> dg(n), du(n);
  SiluMulBackward(g.data(), u.data(), c.data(), n, dg.data(), du.data());
  const auto gd = ToDouble(g), ud = ToDouble(u);
  ExpectClose(dg, NumericGrad([&](const auto& v) { return forward(v, ud); }, gd), 1e-6);
  ExpectClose(du, NumericGrad([&](const auto& v) { return forward(gd, v); }, ud), 1e-6);
}

TEST(BackwardOpsTest, GqaCausalAttentionMatchesFiniteDifferences) {
  const AttentionShape sh{4, 2, 6};  // two query heads per KV head
  const int n = 7, qd = 24, kvd = 12;
  const auto q = Random(n * qd, 7), k = Random(n * kvd, 8), v = Random(n * kvd, 9),
             c = Random(n * qd, 10);
  auto forward = [&](const std::vector<double>& qq, const std::vector<double>& kk,
                     const std::vector<double>& vv) {
    double loss = 0;
    const double scale = 1.0 / std::sqrt(6.0);
    for (int h = 0; h < 4; ++h) {
      const int kh = h / 2;
      for (int i = 0; i < n; ++i) {
        std::vector<double> s(i + 1);
        double mx = -1e300;
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int e = 0; e < 6; ++e) dot += qq[i * qd + h * 6 + e] * kk[j * kvd + kh * 6 + e];
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (double& x : s) z += (x = std::exp(x - mx));
        for (int e = 0; e < 6; ++e) {
          double o = 0;
          for (int j = 0; j <= i; ++j) o += s[j] / z * vv[j * kvd + kh * 6 + e];
          loss += c[i * qd + h * 6 + e] * o;
        }
      }
    }
    return loss;
  };
  std::vector<float> dq(n * qd), dk(n * kvd), dv(n * kvd);
  ThreadPool pool(2);
  AttentionBackward(sh, n, q.data(), k.data(), v.data(), c.data(), dq.data(), dk.data(), dv.data(),
                    &pool);
  const auto qd_ = ToDouble(q), kd = ToDouble(k), vd = ToDouble(v);
  ExpectClose(dq, NumericGrad([&](const auto& x) { return forward(x, kd, vd); }, qd_), 1e-5);
  ExpectClose(dk, NumericGrad([&](const auto& x) { return forward(qd_, x, vd); }, kd), 1e-5);
  ExpectClose(dv, NumericGrad([&](const auto& x) { return forward(qd_, kd, x); }, vd), 1e-5);
}

TEST(BackwardOpsTest, WeightedCrossEntropyMatchesFiniteDifferences) {
  const int rows = 3, vocab = 11;
  const auto logits = Random(rows * vocab, 11, 2.0f);
  const int32_t targets[rows] = {4, 0, 10};
  const float weights[rows] = {1.0f, 0.25f, 0.0f};
  auto forward = [&](const std::vector<double>& l) {
    double total = 0;
    for (int r = 0; r < rows; ++r) {
      double mx = -1e300, z = 0;
      for (int i = 0; i < vocab; ++i) mx = std::max(mx, l[r * vocab + i]);
      for (int i = 0; i < vocab; ++i) z += std::exp(l[r * vocab + i] - mx);
      total += weights[r] * (std::log(z) + mx - l[r * vocab + targets[r]]);
    }
    return total / 1.25;
  };
  std::vector<float> d(rows * vocab);
  const double loss =
      WeightedCrossEntropy(logits.data(), targets, weights, rows, vocab, 1 / 1.25, d.data());
  EXPECT_NEAR(loss / 1.25, forward(ToDouble(logits)), 1e-6);
  ExpectClose(d, NumericGrad(forward, ToDouble(logits)), 1e-6);
  // In place gives the same.
  std::vector<float> inplace = logits;
  WeightedCrossEntropy(inplace.data(), targets, weights, rows, vocab, 1 / 1.25, inplace.data());
  EXPECT_EQ(inplace, d);
}

TEST(BackwardOpsTest, RopeInverseIsTheTransposeOfRope) {
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    ModelConfig c;
    c.head_dim = 8;
    c.rope_style = style;
    Rope rope(c);
    // <R x, y> == <x, Rᵀ y> for random x, y.
    auto x = Random(16, 12), y = Random(16, 13);
    auto rx = x, ry = y;
    rope.Apply(rx.data(), 2, 37);
    rope.ApplyInverse(ry.data(), 2, 37);
    double a = 0, b = 0;
    for (int i = 0; i < 16; ++i) {
      a += static_cast<double>(rx[i]) * y[i];
      b += static_cast<double>(x[i]) * ry[i];
    }
    EXPECT_NEAR(a, b, 1e-5);
    rope.ApplyInverse(rx.data(), 2, 37);
    for (int i = 0; i < 16; ++i) EXPECT_NEAR(rx[i], x[i], 1e-5);
  }
}

}  // namespace
}  // namespace odlm::train
