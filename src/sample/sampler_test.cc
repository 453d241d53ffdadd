#include "sample/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace odlm {
namespace {

using Cands = std::vector<Sampler::Candidate>;

Cands Make(std::vector<float> logits) {
  Cands c;
  for (size_t i = 0; i < logits.size(); ++i) c.push_back({static_cast<int32_t>(i), logits[i], 0});
  return c;
}

TEST(SamplerTest, GreedyPicksArgmaxLowestIdOnTies) {
  Sampler s(SamplingParams::Greedy());
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 2.0f, -1.0f, 2.0f}), 1);
}

TEST(SamplerTest, TopKKeepsTheKLargestSorted) {
  Cands c = Make({0.5f, 3.0f, 1.0f, 2.0f});
  Sampler::TopK(&c, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].id, 1);
  EXPECT_EQ(c[1].id, 3);
}

TEST(SamplerTest, SoftmaxTopPAndMinPOnFixedLogits) {
  // logits ln(4), ln(2), ln(1), ln(1) → p = 0.5, 0.25, 0.125, 0.125
  Cands c = Make({std::log(4.0f), std::log(2.0f), 0.0f, 0.0f});
  Sampler::TopK(&c, 0);
  Sampler::Softmax(&c);
  EXPECT_NEAR(c[0].p, 0.5f, 1e-6);
  EXPECT_NEAR(c[1].p, 0.25f, 1e-6);
  Cands p = c;
  Sampler::TopP(&p, 0.7f);  // 0.5 < 0.7 <= 0.75: keeps two
  EXPECT_EQ(p.size(), 2u);
  Cands m = c;
  Sampler::MinP(&m, 0.3f);  // threshold 0.15: keeps 0.5 and 0.25
  EXPECT_EQ(m.size(), 2u);
  Cands m2 = c;
  Sampler::MinP(&m2, 0.2f);  // threshold 0.1: keeps all four
  EXPECT_EQ(m2.size(), 4u);
}

TEST(SamplerTest, PenaltiesFollowTheirDefinitions) {
  SamplingParams params = SamplingParams::Greedy();
  params.repeat_penalty = 2.0f;
  params.frequency_penalty = 0.5f;
  params.presence_penalty = 0.25f;
  Sampler s(params);
  s.Accept(0);
  s.Accept(0);
  s.Accept(1);
  Cands c = Make({4.0f, -1.0f, 3.0f});
  s.ApplyPenalties(&c);
  EXPECT_FLOAT_EQ(c[0].logit, 4.0f / 2 - 2 * 0.5f - 0.25f);   // 0.75
  EXPECT_FLOAT_EQ(c[1].logit, -1.0f * 2 - 1 * 0.5f - 0.25f);  // -2.75
  EXPECT_FLOAT_EQ(c[2].logit, 3.0f);
  // Greedy now prefers token 2, which was not penalized.
  EXPECT_EQ(s.Sample(std::vector<float>{4.0f, -1.0f, 3.0f}), 2);
}

TEST(SamplerTest, SameSeedSameTokensAndDistributionMatches) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.seed = 42;
  std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  Sampler a(params), b(params);
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    int32_t ta = a.Sample(logits);
    ASSERT_EQ(ta, b.Sample(logits));
    ++counts[ta];
  }
  // Within 5 sigma of the expected frequencies.
  EXPECT_NEAR(counts[0] / double(n), 0.6, 5 * std::sqrt(0.6 * 0.4 / n));
  EXPECT_NEAR(counts[2] / double(n), 0.1, 5 * std::sqrt(0.1 * 0.9 / n));
  a.Reset();
  Sampler c(params);
  EXPECT_EQ(a.Sample(logits), c.Sample(logits));
}

TEST(SamplerTest, LowTemperatureConcentratesOnTheTop) {
  SamplingParams params;
  params.temperature = 0.05f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  Sampler s(params);
  std::vector<float> logits = {1.0f, 1.5f, 0.0f};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(logits), 1);
}

// Speculative sampling: whatever the proposal q, the tokens SampleDraft returns are distributed as
// the target's p (Sampler::Distribution), and drafts are accepted at the rate sum_x min(p, q).
// A tiny vocabulary makes the check sharp: Pearson's chi-square over 20,000 draws, 5 tokens,
// against a bound (40) that a correct rule exceeds with probability < 1e-7 and that accepting
// every draft (which gives q) or resampling from p after every rejection misses by far.
double ChiSquare(const std::vector<int>& counts, const std::vector<double>& p, int n) {
  double chi = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double e = p[i] * n;
    if (e > 0) {
      chi += (counts[i] - e) * (counts[i] - e) / e;
    } else {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has no mass in p";
    }
  }
  return chi;
}

void CheckSpeculativeRule(const SamplingParams& params, const std::vector<float>& logits,
                          const std::vector<double>& q_probs) {
  Sampler target(params);
  std::vector<Sampler::Candidate> p_dist;
  target.Distribution(logits, &p_dist);
  std::vector<double> p(logits.size(), 0.0);
  for (const auto& c : p_dist) p[c.id] = c.p;
  std::vector<Sampler::Candidate> q;  // empty: point mass at token 0
  for (size_t i = 0; i < q_probs.size(); ++i) {
    if (q_probs[i] > 0)
      q.push_back({static_cast<int32_t>(i), 0.0f, static_cast<float>(q_probs[i])});
  }
  std::mt19937_64 draft_rng(7);  // the drafter's own randomness, independent of the sampler's
  const int n = 20000;
  std::vector<int> counts(logits.size(), 0);
  int accepted_n = 0;
  for (int i = 0; i < n; ++i) {
    int32_t draft = 0;
    if (!q.empty()) {
      double r = static_cast<double>(draft_rng() >> 11) / 9007199254740992.0, cum = 0;
      draft = q.back().id;
      for (const auto& c : q) {
        cum += c.p;
        if (r < cum) {
          draft = c.id;
          break;
        }
      }
    }
    bool accepted = false;
    const int32_t t = target.SampleDraft(logits, draft, q, &accepted);
    if (accepted) {
      EXPECT_EQ(t, draft);
      ++accepted_n;
    }
    ++counts[t];
  }
  EXPECT_LT(ChiSquare(counts, p, n), 40.0);
  double accept_rate = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double qi = q.empty() ? (i == 0 ? 1.0 : 0.0) : q_probs[i];
    accept_rate += std::min(p[i], qi);
  }
  EXPECT_NEAR(accepted_n / double(n), accept_rate,
              5 * std::sqrt(accept_rate * (1 - accept_rate) / n) + 1e-9);
}

TEST(SamplerTest, SpeculativeRuleKeepsTheDistributionWithADraftDistribution) {
  SamplingParams params;
  params.temperature = 0.7f;
  params.top_k = 4;  // token 4 is cut: p has 4 tokens, q proposes all five
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.seed = 3;
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 0.6f, -2.0f};
  CheckSpeculativeRule(params, logits, {0.1, 0.5, 0.1, 0.1, 0.2});
  CheckSpeculativeRule(params, logits, {0.2, 0.2, 0.2, 0.2, 0.2});
}

TEST(SamplerTest, SpeculativeRuleKeepsTheDistributionWithAPointMassDraft) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.seed = 5;
  // Prompt lookup's proposal: the draft (token 0) with certainty.
  CheckSpeculativeRule(params, {0.3f, 1.1f, -0.4f, 0.0f, 0.5f}, {});
}

TEST(SamplerTest, SpeculativeRuleWhenGreedyIsTheArgmaxWithoutRandomness) {
  Sampler s(SamplingParams::Greedy());
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f};
  bool accepted = true;
  EXPECT_EQ(s.SampleDraft(logits, 0, {}, &accepted), 1);
  EXPECT_FALSE(accepted);
  EXPECT_EQ(s.SampleDraft(logits, 1, {}, &accepted), 1);
  EXPECT_TRUE(accepted);
  const std::vector<Sampler::Candidate> q = {{0, 0.0f, 0.9f}, {1, 0.0f, 0.1f}};
  EXPECT_EQ(s.SampleDraft(logits, 0, q, &accepted), 1);
  EXPECT_FALSE(accepted);
}

}  // namespace
}  // namespace odlm
