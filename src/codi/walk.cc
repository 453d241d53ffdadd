// codi/walk.cc — counter-based randomness and Markov walks (contract in walk.h).
#include "codi/walk.h"

namespace odlm::codi {
namespace {
constexpr uint64_t kGamma = kGoldenGamma;
}  // namespace

CounterRng::CounterRng(uint64_t seed, uint64_t index, uint64_t stream)
    : key_(Mix64(Mix64(seed ^ Mix64(index + kGamma)) ^ (stream * kGamma))) {}

uint64_t CounterRng::Next() { return Mix64(key_ + (++counter_) * kGamma); }

double CounterRng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

size_t CounterRng::Pick(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  CHECK(total > 0) << "Pick from an all-zero distribution";
  const double u = Uniform() * total;
  double acc = 0;
  size_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    acc += weights[i];
    last = i;
    if (u < acc) return i;
  }
  return last;  // rounding: u landed past the accumulated total
}

Walk SampleWalk(const Graph& g, uint64_t seed, uint64_t index) {
  CounterRng rng(seed, index, kStreamWalk);
  std::vector<double> len_w;
  for (const auto& [n, p] : g.lengths) len_w.push_back(p);
  const int length = g.lengths[rng.Pick(len_w)].first;
  Walk w;
  w.links.reserve(length);
  w.phenomena.reserve(length);
  int cur = static_cast<int>(rng.Pick(g.start));
  for (int t = 0; t < length; ++t) {
    if (t > 0) cur = static_cast<int>(rng.Pick(g.transitions[cur]));
    w.links.push_back(cur);
    // Phenomenon: one uniform draw per turn (always drawn, so the walk's stream does not depend on
    // whether a link has phenomena).
    const double u = rng.Uniform();
    int ph = -1;
    double acc = 0;
    const auto& phs = g.links[cur].phenomena;
    for (size_t k = 0; k < phs.size(); ++k) {
      acc += phs[k].second;
      if (u < acc) {
        ph = static_cast<int>(k);
        break;
      }
    }
    w.phenomena.push_back(ph);
  }
  return w;
}

std::string PhenomenonName(const Graph& g, const Walk& w, size_t t) {
  const int ph = w.phenomena[t];
  return ph < 0 ? "" : g.links[w.links[t]].phenomena[ph].first;
}

}  // namespace odlm::codi
