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

void Sampler::Distribution(std::span<const float> logits, std::vector<Candidate>* out) const {
  CHECK(!logits.empty());
  out->resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    (*out)[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  }
  ApplyPenalties(out);
  if (params_.temperature <= 0.0f) {
    Candidate best = (*out)[0];
    for (const auto& cand : *out) {
      if (cand.logit > best.logit) best = cand;
    }
    best.p = 1.0f;
    out->assign(1, best);
    return;
  }
  TopK(out, params_.top_k);
  Softmax(out);
  TopP(out, params_.top_p);
  MinP(out, params_.min_p);
  for (auto& cand : *out) cand.logit /= params_.temperature;
  Softmax(out);
}

int32_t Sampler::Draw(std::span<const Candidate> dist) {
  CHECK(!dist.empty());
  double r = Uniform(), cum = 0.0;
  for (const auto& cand : dist) {
    cum += cand.p;
    if (r < cum) return cand.id;
  }
  return dist.back().id;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  Distribution(logits, &scratch_);
  if (params_.temperature <= 0.0f) return scratch_[0].id;
  return Draw(scratch_);
}

int32_t Sampler::SampleDraft(std::span<const float> logits, int32_t draft,
                             std::span<const Candidate> q, bool* accepted) {
  Distribution(logits, &dist_);
  std::unordered_map<int32_t, double> q_of;  // q by token; empty q: the point mass at draft
  if (q.empty()) {
    q_of[draft] = 1.0;
  } else {
    for (const auto& c : q) q_of[c.id] += c.p;
  }
  auto q_prob = [&](int32_t id) {
    auto it = q_of.find(id);
    return it == q_of.end() ? 0.0 : it->second;
  };
  double p_draft = 0.0;
  for (const auto& c : dist_) {
    if (c.id == draft) p_draft = c.p;
  }
  const double q_draft = q_prob(draft);
  CHECK_GT(q_draft, 0.0) << "the draft token " << draft << " has no mass in its proposal";
  // Certain acceptance needs no draw (greedy always lands here or on a certain rejection).
  const bool certain = p_draft >= q_draft;
  *accepted = certain || (p_draft > 0.0 && Uniform() < p_draft / q_draft);
  if (*accepted) return draft;
  // The residual max(0, p - q), normalized; p's order (most likely first) is kept.
  double total = 0.0;
  for (auto& c : dist_) {
    const double r = std::max(0.0, static_cast<double>(c.p) - q_prob(c.id));
    c.p = static_cast<float>(r);
    total += r;
  }
  std::erase_if(dist_, [](const Candidate& c) { return c.p <= 0.0f; });
  // p != q whenever a rejection is possible, so the residual has mass; rounding aside.
  if (dist_.empty() || total <= 0.0) {
    Distribution(logits, &dist_);
    return Draw(dist_);
  }
  for (auto& c : dist_) c.p = static_cast<float>(c.p / total);
  if (dist_.size() == 1) return dist_[0].id;
  return Draw(dist_);
}

}  // namespace odlm
