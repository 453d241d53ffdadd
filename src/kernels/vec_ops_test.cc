// kernels/vec_ops_test.cc — the attention row steps: every variant this CPU runs equals the
// scalar code (F32 and F16 rows, head sizes with and without a SIMD path, 1..8 query heads), and
// the scalar code equals a float64 computation.
#include "kernels/vec_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "platform/cpu_features.h"
#include "tensor/half.h"

namespace odlm::kernels::internal {
namespace {

struct Case {
  std::vector<float> kf, q, p;
  std::vector<uint16_t> kh;
};

Case MakeCase(int nq, int hd, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Case c;
  c.kf.resize(hd);
  c.kh.resize(hd);
  for (int e = 0; e < hd; ++e) {
    c.kh[e] = FloatToHalf(dist(rng));
    c.kf[e] = HalfToFloat(c.kh[e]);  // same values in both formats
  }
  c.q.resize(static_cast<size_t>(nq) * hd);
  for (auto& v : c.q) v = dist(rng);
  c.p.resize(static_cast<size_t>(nq) * 3);
  for (auto& v : c.p) v = std::fabs(dist(rng));
  return c;
}

TEST(VecOpsTest, VariantsMatchScalarAndFloat64) {
  std::vector<const VecOps*> variants = {&ScalarVecOps()};
  const CpuFeatures& f = GetCpuFeatures();
  if (f.avx2 && f.fma && f.f16c && Avx2VecOps() != nullptr) variants.push_back(Avx2VecOps());
  if (f.neon && NeonVecOps() != nullptr) variants.push_back(NeonVecOps());
  std::printf("  %zu variant(s)\n", variants.size());
  // 36: an odd count of 4-lane vectors; 264: longer than the SIMD row buffers (scalar fallback).
  for (int hd : {8, 36, 40, 64, 128, 256, 264}) {
    for (int nq : {1, 3, 8}) {
      const Case c = MakeCase(nq, hd, static_cast<uint32_t>(hd * 10 + nq));
      for (const VecOps* ops : variants) {
        std::vector<float> d32(nq), d16(nq);
        ops->dot_f32(c.kf.data(), c.q.data(), nq, hd, 0.125f, d32.data());
        ops->dot_f16(c.kh.data(), c.q.data(), nq, hd, 0.125f, d16.data());
        std::vector<float> a32(static_cast<size_t>(nq) * hd, 1.0f), a16 = a32;
        ops->axpy_f32(c.kf.data(), c.p.data(), 3, nq, hd, a32.data());
        ops->axpy_f16(c.kh.data(), c.p.data(), 3, nq, hd, a16.data());
        for (int i = 0; i < nq; ++i) {
          double ref = 0, mag = 0;
          for (int e = 0; e < hd; ++e) {
            ref += static_cast<double>(c.kf[e]) * c.q[i * hd + e];
            mag += std::fabs(static_cast<double>(c.kf[e]) * c.q[i * hd + e]);
          }
          EXPECT_NEAR(d32[i], 0.125 * ref, 1e-6 * mag + 1e-30) << "hd " << hd << " nq " << nq;
          EXPECT_EQ(d16[i], d32[i]) << "F16 and F32 rows with equal values, hd " << hd;
          for (int e = 0; e < hd; ++e) {
            const double want = 1.0 + static_cast<double>(c.p[i * 3]) * c.kf[e];
            EXPECT_NEAR(a32[i * hd + e], want, 1e-6 * (1.0 + std::fabs(want)));
            EXPECT_EQ(a16[i * hd + e], a32[i * hd + e]);
          }
        }
      }
    }
  }
}

TEST(VecOpsTest, PublicEntryPointsDispatchOnKvType) {
  const Case c = MakeCase(2, 64, 7);
  float o32[2], o16[2];
  DotKvRow(DType::kF32, c.kf.data(), c.q.data(), 2, 64, 1.0f, o32);
  DotKvRow(DType::kF16, c.kh.data(), c.q.data(), 2, 64, 1.0f, o16);
  EXPECT_EQ(o32[0], o16[0]);
  EXPECT_EQ(o32[1], o16[1]);
  std::vector<float> out(128, 0.0f);
  AxpyKvRow(DType::kF16, c.kh.data(), c.p.data(), 1, 2, 64, out.data());
  EXPECT_FLOAT_EQ(out[64 + 5], c.p[1] * c.kf[5]);
}

// SiluMul against float64 for every compiled variant (and the public entry point): a dense sweep
// of [-100, 100], values near 0, the clamp edges of the vector exp (|x| ~ 87-89), ±1e4, and
// lengths that leave a scalar tail. Relative 4e-7, plus 1e-30 absolute for results that underflow
// (silu(x) for x < -87 is below 1e-36 and flushes differently in each variant).
TEST(VecOpsTest, SiluMulMatchesFloat64) {
  std::vector<float> g;
  for (int i = -20000; i <= 20000; ++i) g.push_back(static_cast<float>(i) * 0.005f);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 86.9f, 87.1f, 88.5f, 89.0f, -86.9f, -87.1f, -88.5f,
                  -89.0f, 1e4f, -1e4f}) {
    g.push_back(v);
  }
  g.push_back(0.5f);  // an odd length: the last elements take the scalar tail
  std::vector<float> up(g.size());
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto& u : up) u = dist(rng);
  std::vector<SiluMulFn> fns = {&ScalarSiluMul};
  if (Avx2SiluMul() != nullptr && GetCpuFeatures().avx2 && GetCpuFeatures().fma) {
    fns.push_back(Avx2SiluMul());
  }
  fns.push_back(&SiluMul);
  for (size_t f = 0; f < fns.size(); ++f) {
    std::vector<float> out = g;
    fns[f](out.data(), up.data(), static_cast<int64_t>(out.size()));
    for (size_t i = 0; i < g.size(); ++i) {
      const double x = g[i];
      const double want = x / (1.0 + std::exp(-x)) * up[i];
      ASSERT_NEAR(out[i], want, 4e-7 * std::fabs(want) + 1e-30)
          << "variant " << f << " x=" << x << " up=" << up[i];
    }
  }
}

}  // namespace
}  // namespace odlm::kernels::internal
