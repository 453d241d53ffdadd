// Tests of the walk sampler: reproducible from (seed, index), and distributed as the configured
// chain (chi-square over many walks with a fixed seed, so it cannot flake; the same test rejects a
// chain that differs by a few percent, so it can fail).
#include "codi/walk.h"

#include <gtest/gtest.h>

#include "codi/chi_square.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

Graph ChainGraph() {
  auto g = ParseGraph(json::parse(R"({
    "roles": {"USER": 0, "AGENT": 1},
    "phenomena": {"p1": "x", "p2": "y"},
    "links": {
      "a": {"role": "USER", "template": "{document} {phenomenon}", "phenomena": {"p1": 0.3, "p2": 0.2}},
      "b": {"role": "AGENT", "template": "{document}"},
      "c": {"role": "AGENT", "template": "{document}"}
    },
    "start": {"a": 0.6, "b": 0.3, "c": 0.1},
    "transitions": {"a": {"b": 0.7, "c": 0.3}, "b": {"a": 0.5, "b": 0.2, "c": 0.3},
                    "c": {"a": 0.9, "c": 0.1}},
    "length": {"2": 0.2, "4": 0.5, "7": 0.3}
  })"));
  CHECK(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

TEST(WalkTest, DeterministicPerSeedAndIndex) {
  const Graph g = ChainGraph();
  for (uint64_t i = 0; i < 50; ++i) {
    const Walk a = SampleWalk(g, 42, i), b = SampleWalk(g, 42, i);
    EXPECT_EQ(a.links, b.links);
    EXPECT_EQ(a.phenomena, b.phenomena);
  }
  int differ_index = 0, differ_seed = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    differ_index += SampleWalk(g, 42, i).links != SampleWalk(g, 42, i + 1).links;
    differ_seed += SampleWalk(g, 42, i).links != SampleWalk(g, 43, i).links;
  }
  EXPECT_GT(differ_index, 30);
  EXPECT_GT(differ_seed, 30);
  // Pinned values guard against an accidental change of the generator (which would silently
  // change every resumed or sharded run's conversations).
  CounterRng r(1, 2, 3);
  EXPECT_EQ(r.Next(), 0x51ff4a94709af01cULL);  // computed independently (Python)
  EXPECT_EQ(Mix64(0), 0u);
  EXPECT_EQ(Mix64(1), 0x5692161d100b05e5ULL);
}

TEST(WalkTest, UniformIsInUnitIntervalAndUnbiased) {
  CounterRng r(7, 0, 1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = r.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
}

struct Counts {
  std::vector<int64_t> start;
  std::vector<std::vector<int64_t>> trans;
  std::vector<int64_t> lengths;            // indexed like g.lengths
  std::vector<std::vector<int64_t>> phen;  // [link][phenomenon + 1]
};

Counts Count(const Graph& g, uint64_t seed, int walks) {
  const size_t n = g.links.size();
  Counts c{std::vector<int64_t>(n),
           std::vector<std::vector<int64_t>>(n, std::vector<int64_t>(n)),
           std::vector<int64_t>(g.lengths.size()),
           {}};
  for (size_t l = 0; l < n; ++l) c.phen.emplace_back(g.links[l].phenomena.size() + 1, 0);
  for (int i = 0; i < walks; ++i) {
    const Walk w = SampleWalk(g, seed, i);
    ++c.start[w.links[0]];
    for (size_t t = 1; t < w.links.size(); ++t) ++c.trans[w.links[t - 1]][w.links[t]];
    for (size_t k = 0; k < g.lengths.size(); ++k)
      c.lengths[k] += g.lengths[k].first == (int)w.links.size();
    for (size_t t = 0; t < w.links.size(); ++t) ++c.phen[w.links[t]][w.phenomena[t] + 1];
  }
  return c;
}

std::vector<double> PhenExpected(const Link& l) {
  std::vector<double> e = {1.0};
  for (const auto& [_, p] : l.phenomena) {
    e.push_back(p);
    e[0] -= p;
  }
  return e;
}

TEST(WalkTest, ChiSquareAgainstConfiguredChain) {
  const Graph g = ChainGraph();
  const Counts c = Count(g, /*seed=*/20240811, /*walks=*/20000);
  EXPECT_GT(ChiSquareFit(c.start, g.start).p_value, 1e-3);
  for (size_t f = 0; f < g.links.size(); ++f) {
    const auto r = ChiSquareFit(c.trans[f], g.transitions[f]);
    EXPECT_EQ(r.impossible, 0) << "a transition the chain forbids, from " << g.links[f].name;
    EXPECT_GT(r.p_value, 1e-3) << "from " << g.links[f].name << " chi2 " << r.statistic;
  }
  std::vector<double> len_p;
  for (const auto& [_, p] : g.lengths) len_p.push_back(p);
  EXPECT_GT(ChiSquareFit(c.lengths, len_p).p_value, 1e-3);
  for (size_t l = 0; l < g.links.size(); ++l) {
    EXPECT_GT(ChiSquareFit(c.phen[l], PhenExpected(g.links[l])).p_value, 1e-3) << g.links[l].name;
  }
  // The same counts against a chain 5 points off are rejected decisively: the test has power.
  std::vector<double> wrong = g.transitions[0];  // a: b 0.7, c 0.3
  wrong[1] = 0.65;
  wrong[2] = 0.35;
  EXPECT_LT(ChiSquareFit(c.trans[0], wrong).p_value, 1e-6);
  // A forbidden transition (a -> a has probability 0) is impossible: p = 0.
  std::vector<int64_t> with_forbidden = c.trans[0];
  with_forbidden[0] = 1;
  EXPECT_EQ(ChiSquareFit(with_forbidden, g.transitions[0]).p_value, 0.0);
}

TEST(WalkTest, ChiSquarePValueMatchesKnownQuantiles) {
  // Upper-tail quantiles of the chi-square distribution (standard tables).
  EXPECT_NEAR(ChiSquarePValue(3.841459, 1), 0.05, 1e-6);
  EXPECT_NEAR(ChiSquarePValue(5.991465, 2), 0.05, 1e-6);
  EXPECT_NEAR(ChiSquarePValue(18.307038, 10), 0.05, 1e-6);
  EXPECT_NEAR(ChiSquarePValue(6.634897, 1), 0.01, 1e-6);
  EXPECT_NEAR(ChiSquarePValue(124.342, 100), 0.05, 1e-4);
  EXPECT_NEAR(ChiSquarePValue(2.0, 2), std::exp(-1.0), 1e-12);  // df 2: Q = e^{-x/2}
}

}  // namespace
}  // namespace odlm::codi
