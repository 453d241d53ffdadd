// sample/sampler.cc — the sampler chain.
#include "sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "base/check.h"

namespace odlm {

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

void Sampler::Reset() {
  recent_.clear();
  rng_.seed(params_.seed);
}

void Sampler::Accept(int32_t token) {
  if (params_.penalty_last_n <= 0) return;
  recent_.push_back(token);
  while (static_cast<int32_t>(recent_.size()) > params_.penalty_last_n) recent_.pop_front();
}

double Sampler::Uniform() { return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0); }

void Sampler::ApplyPenalties(std::vector<Candidate>* c) const {
  const bool any = params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                   params_.presence_penalty != 0.0f;
  if (!any || recent_.empty()) return;
  std::unordered_map<int32_t, int32_t> counts;
  for (int32_t t : recent_) ++counts[t];
  for (auto& cand : *c) {
    auto it = counts.find(cand.id);
    if (it == counts.end()) continue;
    // Repetition penalty as in CTRL / llama.cpp: shrink positive logits, grow negative ones.
    if (cand.logit > 0) {
      cand.logit /= params_.repeat_penalty;
    } else {
      cand.logit *= params_.repeat_penalty;
    }
    cand.logit -= it->second * params_.frequency_penalty + params_.presence_penalty;
  }
}

void Sampler::TopK(std::vector<Candidate>* c, int32_t k) {
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (k > 0 && k < static_cast<int32_t>(c->size())) {
    std::partial_sort(c->begin(), c->begin() + k, c->end(), by_logit);
    c->resize(k);
  } else {
    std::sort(c->begin(), c->end(), by_logit);
  }
}

void Sampler::Softmax(std::vector<Candidate>* c) {
  CHECK(!c->empty());
  const float max = (*c)[0].logit;
  double sum = 0.0;
  for (auto& cand : *c) {
    cand.p = std::exp(cand.logit - max);
    sum += cand.p;
  }
  for (auto& cand : *c) cand.p = static_cast<float>(cand.p / sum);
}

void Sampler::TopP(std::vector<Candidate>* c, float p) {
  if (p >= 1.0f) return;
  double cum = 0.0;
  size_t keep = c->size();
  for (size_t i = 0; i < c->size(); ++i) {
    cum += (*c)[i].p;
    if (cum >= p) {
      keep = i + 1;
      break;
    }
  }
  c->resize(std::max<size_t>(1, keep));
}

void Sampler::MinP(std::vector<Candidate>* c, float p) {
  if (p <= 0.0f) return;
  const float threshold = (*c)[0].p * p;
  size_t keep = 1;
  while (keep < c->size() && (*c)[keep].p >= threshold) ++keep;
  c->resize(keep);
}

int32_t Sampler::Sample(std::span<const float> logits) {
  CHECK(!logits.empty());
  scratch_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    scratch_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  }
  ApplyPenalties(&scratch_);
  if (params_.temperature <= 0.0f) {
    const Candidate* best = &scratch_[0];
    for (const auto& cand : scratch_) {
      if (cand.logit > best->logit) best = &cand;
    }
    return best->id;
  }
  TopK(&scratch_, params_.top_k);
  Softmax(&scratch_);
  TopP(&scratch_, params_.top_p);
  MinP(&scratch_, params_.min_p);
  for (auto& cand : scratch_) cand.logit /= params_.temperature;
  Softmax(&scratch_);
  double r = Uniform(), cum = 0.0;
  for (const auto& cand : scratch_) {
    cum += cand.p;
    if (r < cum) return cand.id;
  }
  return scratch_.back().id;
}

}  // namespace odlm
