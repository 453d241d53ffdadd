// tests/adapters_merge_test.cc — merged adapters equal what they stand for (concat and linear
// exactly, TIES/DARE by their definitions at density 1 and below it: trimming, sign election,
// seeded dropping and rescaling), GGUF round trip, and baked models equal the unmerged adapter.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "adapters/lora_merge.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

using odlm::testing::SharedTestdataPath;

// The dense delta scale·(alpha/r)·B·A of (layer, target), [n_out, n_in].
std::vector<double> Delta(const LoraAdapter& a, int32_t layer, LoraTarget t, double scale) {
  const LoraPair* p = a.Find(layer, t);
  std::vector<double> d(p->n_out * p->n_in, 0.0);
  for (int64_t o = 0; o < p->n_out; ++o) {
    for (int64_t k = 0; k < p->rank; ++k) {
      for (int64_t i = 0; i < p->n_in; ++i) {
        d[o * p->n_in + i] += scale * a.Scaling(*p) * p->b[o * p->rank + k] * p->a[k * p->n_in + i];
      }
    }
  }
  return d;
}

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (odlm::testing::SharedTestdataDir().empty()) GTEST_SKIP() << "SKIPPED: no shared testdata";
    file_ = std::move(GgufFile::Open(SharedTestdataPath("models/tiny-llama-f32.gguf"))).value();
    model_ = std::move(LlamaModel::Load(*file_)).value();
    base_ = model_->LoraBase();
    a_ = Load();
    // A second, different adapter: the first with A and B swapped in sign pattern (B negated on
    // odd rows), so that merges have something to disagree about.
    std::vector<LoraPair> pairs = a_->pairs();
    for (auto& p : pairs) {
      for (int64_t o = 1; o < p.n_out; o += 2) {
        for (int64_t k = 0; k < p.rank; ++k) p.b[o * p.rank + k] *= -1.5f;
      }
    }
    b_ = std::move(LoraAdapter::FromPairs("llama", a_->alpha(), pairs, base_)).value();
  }
  std::unique_ptr<LoraAdapter> Load() {
    return std::move(
               LoraAdapter::Load(SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf"), base_))
        .value();
  }
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<LlamaModel> model_;
  LoraBaseShape base_;
  std::unique_ptr<LoraAdapter> a_, b_;
};

TEST_F(MergeTest, ConcatAndLinearAreExactWeightedSums) {
  const LoraAdapter* in[] = {a_.get(), b_.get()};
  for (MergeMethod m : {MergeMethod::kConcat, MergeMethod::kLinear}) {
    MergeOptions o;
    o.method = m;
    o.weights = {0.7f, -0.4f};
    o.rank = 16;  // the sum has rank <= 16, so factoring it back is exact
    auto merged = MergeAdapters(in, o, base_);
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    for (const LoraPair& p : a_->pairs()) {
      const auto want_a = Delta(*a_, p.layer, p.target, 0.7);
      const auto want_b = Delta(*b_, p.layer, p.target, -0.4);
      const auto got = Delta(**merged, p.layer, p.target, 1.0);
      double err = 0, mag = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        err = std::max(err, std::fabs(got[i] - want_a[i] - want_b[i]));
        mag = std::max(mag, std::fabs(want_a[i] + want_b[i]));
      }
      EXPECT_LT(err, 1e-4 * std::max(1.0, mag))
          << static_cast<int>(m) << " layer " << p.layer << " mag " << mag;
    }
  }
}

TEST_F(MergeTest, LinearBelowTheSumsRankIsTheTruncatedSvd) {
  // a + b has rank 16; merged at rank 8 it must be the best rank-8 approximation: B·A with
  // orthonormal rows of A, the residual orthogonal to both kept subspaces, and every kept singular
  // value (the norms of B's columns) at least the largest one dropped (the residual's).
  const LoraAdapter* in[] = {a_.get(), b_.get()};
  MergeOptions o;
  o.weights = {0.7f, -0.4f};
  o.rank = 8;
  auto merged = MergeAdapters(in, o, base_);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  for (const LoraPair& p : a_->pairs()) {
    const LoraPair* m = (*merged)->Find(p.layer, p.target);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->rank, 8);
    const int64_t n_out = m->n_out, n_in = m->n_in, R = m->rank;
    const auto want_a = Delta(*a_, p.layer, p.target, 0.7);
    const auto want_b = Delta(*b_, p.layer, p.target, -0.4);
    const auto got = Delta(**merged, p.layer, p.target, 1.0);
    std::vector<double> e(got.size());  // residual [n_out, n_in]
    double total = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      e[i] = want_a[i] + want_b[i] - got[i];
      total = std::max(total, std::fabs(want_a[i] + want_b[i]));
    }
    const double tol = 1e-4 * std::max(1.0, total);
    double worst = 0;  // A·Aᵀ = I, E·Aᵀ = 0, Bᵀ·E = 0 (B scaled to unit columns)
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t s2 = 0; s2 < R; ++s2) {
        double dot = 0;
        for (int64_t i = 0; i < n_in; ++i) dot += m->a[r * n_in + i] * m->a[s2 * n_in + i];
        worst = std::max(worst, std::fabs(dot - (r == s2 ? 1.0 : 0.0)));
      }
      for (int64_t o2 = 0; o2 < n_out; ++o2) {
        double dot = 0;
        for (int64_t i = 0; i < n_in; ++i) dot += e[o2 * n_in + i] * m->a[r * n_in + i];
        EXPECT_LT(std::fabs(dot), tol * std::sqrt(static_cast<double>(n_in)));
      }
    }
    EXPECT_LT(worst, 1e-4);
    // Kept singular values and the residual's largest (power iteration on EᵀE).
    double kept_min = 1e300;
    for (int64_t r = 0; r < R; ++r) {
      double norm = 0;
      for (int64_t o2 = 0; o2 < n_out; ++o2) norm += m->b[o2 * R + r] * m->b[o2 * R + r];
      kept_min = std::min(kept_min, std::sqrt(norm) * (*merged)->Scaling(*m));
    }
    std::vector<double> x(n_in, 1.0), y(n_out);
    double sigma = 0;
    for (int iter = 0; iter < 200; ++iter) {
      for (int64_t o2 = 0; o2 < n_out; ++o2) {
        y[o2] = 0;
        for (int64_t i = 0; i < n_in; ++i) y[o2] += e[o2 * n_in + i] * x[i];
      }
      double norm = 0;
      for (int64_t i = 0; i < n_in; ++i) {
        x[i] = 0;
        for (int64_t o2 = 0; o2 < n_out; ++o2) x[i] += e[o2 * n_in + i] * y[o2];
        norm += x[i] * x[i];
      }
      norm = std::sqrt(norm);
      if (norm == 0) break;
      sigma = std::sqrt(norm);  // ‖EᵀE x‖ with ‖x‖ = 1 → σ_max²
      for (double& v : x) v /= norm;
    }
    EXPECT_GT(sigma, 0.0);  // rank 16 cut to 8: something is dropped
    EXPECT_GE(kept_min, sigma * (1 - 1e-3)) << "layer " << p.layer;
  }
}

TEST_F(MergeTest, TiesAndDareFollowTheirDefinitions) {
  const LoraAdapter* in[] = {a_.get(), b_.get()};
  const LoraPair& p0 = a_->pairs()[0];
  const int64_t n_full = std::min(p0.n_in, p0.n_out);
  // Full rank result: no factoring error, so the dense result can be checked entry by entry.
  MergeOptions ties;
  ties.method = MergeMethod::kTies;
  ties.density = 1.0f;
  ties.rank = static_cast<int32_t>(n_full);
  auto t = MergeAdapters(in, ties, base_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const auto da = Delta(*a_, p0.layer, p0.target, 1), db = Delta(*b_, p0.layer, p0.target, 1);
  const auto dt = Delta(**t, p0.layer, p0.target, 1);
  double err = 0;
  for (size_t i = 0; i < dt.size(); ++i) {
    const double sum = da[i] + db[i];
    double agree = 0;
    int count = 0;
    for (double v : {da[i], db[i]}) {
      if (v != 0 && (v > 0) == (sum > 0)) agree += v, ++count;
    }
    err = std::max(err, std::fabs(dt[i] - (count ? agree / count : 0)));
  }
  EXPECT_LT(err, 1e-3);
  // DARE at density 1 keeps everything: the linear sum.
  MergeOptions dare;
  dare.method = MergeMethod::kDare;
  dare.density = 1.0f;
  dare.rank = 16;
  auto d = MergeAdapters(in, dare, base_);
  ASSERT_TRUE(d.ok());
  const auto dd = Delta(**d, p0.layer, p0.target, 1);
  err = 0;
  for (size_t i = 0; i < dd.size(); ++i) err = std::max(err, std::fabs(dd[i] - da[i] - db[i]));
  EXPECT_LT(err, 1e-3);
  // Bad options are refused.
  MergeOptions bad;
  bad.weights = {1.0f};
  EXPECT_FALSE(MergeAdapters(in, bad, base_).ok());
  bad.weights = {};
  bad.density = 0;
  EXPECT_FALSE(MergeAdapters(in, bad, base_).ok());
}

// TIES below density 1: each input keeps its round(density·n) largest-magnitude entries before the
// sign election. The oracle trims in double; an entry whose magnitude sits at the threshold may
// fall on the other side in the kernel's float arithmetic, so a handful of mismatches is allowed.
TEST_F(MergeTest, TiesTrimsEachInputToItsLargestEntries) {
  const LoraAdapter* in[] = {a_.get(), b_.get()};
  const LoraPair& p0 = a_->pairs()[0];
  MergeOptions ties;
  ties.method = MergeMethod::kTies;
  ties.density = 0.3f;
  ties.rank = static_cast<int32_t>(std::min(p0.n_in, p0.n_out));
  auto t = MergeAdapters(in, ties, base_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::vector<double> da = Delta(*a_, p0.layer, p0.target, 1);
  std::vector<double> db = Delta(*b_, p0.layer, p0.target, 1);
  const auto dt = Delta(**t, p0.layer, p0.target, 1);
  const size_t n = da.size();
  const size_t k = std::max<size_t>(1, static_cast<size_t>(std::llround(0.3 * n)));
  for (std::vector<double>* d : {&da, &db}) {
    std::vector<double> mags(n);
    for (size_t i = 0; i < n; ++i) mags[i] = std::fabs((*d)[i]);
    std::nth_element(mags.begin(), mags.begin() + (n - k), mags.end());
    const double threshold = mags[n - k];
    for (double& v : *d) {
      if (std::fabs(v) < threshold) v = 0;
    }
  }
  double scale = 0;
  for (double v : da) scale = std::max(scale, std::fabs(v));
  size_t mismatches = 0, nonzero = 0;
  for (size_t i = 0; i < n; ++i) {
    const double sum = da[i] + db[i];
    double agree = 0;
    int count = 0;
    for (double v : {da[i], db[i]}) {
      if (v != 0 && (v > 0) == (sum > 0)) agree += v, ++count;
    }
    const double want = count ? agree / count : 0;
    mismatches += std::fabs(dt[i] - want) > 1e-3 * scale;
    nonzero += want != 0;
  }
  EXPECT_LE(mismatches, n / 200) << "of " << n;
  // Two inputs, 30% each: between 30% and 60% of the entries survive.
  EXPECT_GE(nonzero, k);
  EXPECT_LE(nonzero, 2 * k);
  EXPECT_LT(nonzero, n * 2 / 3) << "trimming removed nothing";
}

// DARE below density 1: each entry of each input survives with probability `density`, rescaled by
// 1/density; the same seed gives the same merge, another seed another one.
TEST_F(MergeTest, DareDropsAndRescalesWithTheSeed) {
  const LoraAdapter* in[] = {a_.get(), b_.get()};
  const LoraPair& p0 = a_->pairs()[0];
  MergeOptions dare;
  dare.method = MergeMethod::kDare;
  dare.density = 0.5f;
  dare.rank = static_cast<int32_t>(std::min(p0.n_in, p0.n_out));
  dare.seed = 7;
  auto d = MergeAdapters(in, dare, base_);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const auto da = Delta(*a_, p0.layer, p0.target, 1), db = Delta(*b_, p0.layer, p0.target, 1);
  const auto dd = Delta(**d, p0.layer, p0.target, 1);
  double scale = 0;
  for (size_t i = 0; i < da.size(); ++i)
    scale = std::max({scale, std::fabs(da[i]), std::fabs(db[i])});
  // Every entry is one of the four outcomes; count them where they are told apart.
  size_t both = 0, none = 0, decided = 0, off = 0;
  const double tol = 1e-3 * scale;
  for (size_t i = 0; i < dd.size(); ++i) {
    const double outcomes[4] = {0, 2 * da[i], 2 * db[i], 2 * (da[i] + db[i])};
    int match = -1, matches = 0;
    for (int o = 0; o < 4; ++o) {
      if (std::fabs(dd[i] - outcomes[o]) <= tol) match = o, ++matches;
    }
    if (match < 0) {
      ++off;
      continue;
    }
    // Counted only where the four outcomes are told apart (not where da ≈ db, or small entries).
    const double gaps[3] = {std::fabs(da[i]), std::fabs(db[i]), std::fabs(da[i] - db[i])};
    if (matches > 1 || *std::min_element(gaps, gaps + 3) < 2 * tol) continue;
    ++decided;
    both += match == 3;
    none += match == 0;
  }
  EXPECT_LE(off, dd.size() / 200) << "entries that are no outcome of dropping and rescaling";
  ASSERT_GT(decided, dd.size() / 4);  // b = a on even rows: those outcomes coincide
  // Each outcome with probability 1/4 at density 0.5 (thousands of entries: ±0.05 is > 6 sigma).
  EXPECT_NEAR(static_cast<double>(both) / decided, 0.25, 0.05);
  EXPECT_NEAR(static_cast<double>(none) / decided, 0.25, 0.05);
  // Seeded.
  auto again = MergeAdapters(in, dare, base_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Delta(**again, p0.layer, p0.target, 1), dd);
  dare.seed = 8;
  auto other = MergeAdapters(in, dare, base_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(Delta(**other, p0.layer, p0.target, 1), dd);
}

TEST_F(MergeTest, GgufRoundTripAndBakeEqualTheUnmergedAdapter) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string adapter_path = dir + "/odlm_merge_" + std::to_string(getpid()) + ".gguf";
  const std::string baked_path = dir + "/odlm_baked_" + std::to_string(getpid()) + ".gguf";
  GgufWriter w;
  ASSERT_TRUE(b_->ToGguf(&w).ok());
  ASSERT_TRUE(w.WriteFile(adapter_path).ok());
  auto back = LoraAdapter::Load(adapter_path, base_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const LoraPair& p : b_->pairs()) {
    EXPECT_EQ((*back)->Find(p.layer, p.target)->b, p.b);
  }

  const ActiveLora set[] = {{b_.get(), 0.8f}};
  ASSERT_TRUE(BakeAdapters(*file_, set, std::nullopt, baked_path).ok());
  auto baked_file = GgufFile::Open(baked_path);
  ASSERT_TRUE(baked_file.ok());
  auto baked = LlamaModel::Load(**baked_file);
  ASSERT_TRUE(baked.ok()) << baked.status().ToString();
  const std::vector<int32_t> tokens = {1, 17, 250, 3, 99, 411, 7};
  auto run = [&](LlamaModel& m, std::span<const ActiveLora> adapters) {
    KvCache cache({.n_layer = base_.n_layer,
                   .kv_dim = m.config().kv_dim(),
                   .type = DType::kF32,
                   .chunk_tokens = 16,
                   .max_tokens = 32});
    EXPECT_TRUE(cache.Reserve(8).ok());
    KvCacheView view = cache.View();
    SequenceStep step{tokens.data(), static_cast<int32_t>(tokens.size()), &view, true, adapters};
    std::vector<float> logits;
    EXPECT_TRUE(m.Forward({&step, 1}, nullptr, &logits).ok());
    return logits;
  };
  const auto unmerged = run(*model_, set), folded = run(**baked, {}), base = run(*model_, {});
  double err = 0, moved = 0;
  for (size_t i = 0; i < unmerged.size(); ++i) {
    err = std::max<double>(err, std::fabs(unmerged[i] - folded[i]));
    moved = std::max<double>(moved, std::fabs(unmerged[i] - base[i]));
  }
  EXPECT_LT(err, 1e-3);
  EXPECT_GT(moved, 0.05);
  // Re-quantized to Q8_0: within the quantized tolerance of the unmerged F32 result.
  ASSERT_TRUE(BakeAdapters(*file_, set, DType::kQ8_0, baked_path).ok());
  auto q_file = GgufFile::Open(baked_path);
  ASSERT_TRUE(q_file.ok());
  EXPECT_EQ((*q_file)->FindTensor("blk.0.attn_q.weight")->type, DType::kQ8_0);
  EXPECT_EQ((*q_file)->FindTensor("blk.0.attn_k.weight")->type, DType::kF32);  // not adapted
  auto q = LlamaModel::Load(**q_file);
  ASSERT_TRUE(q.ok());
  const auto quant = run(**q, {});
  err = 0;
  for (size_t i = 0; i < unmerged.size(); ++i) {
    err = std::max<double>(err, std::fabs(unmerged[i] - quant[i]));
  }
  EXPECT_LT(err, 0.15);
  std::filesystem::remove(adapter_path);
  std::filesystem::remove(baked_path);
}

}  // namespace
}  // namespace odlm
