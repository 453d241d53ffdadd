// engine/speculative.cc — draft tokens for speculative decoding: prompt lookup and a draft model
// (odlm/speculative.h, engine/drafter.h). The verification is engine/speculative_decoder.cc.
#include "odlm/speculative.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "engine/drafter.h"
#include "platform/process_stats.h"

namespace odlm {

SpeculativeStats& SpeculativeStats::operator+=(const SpeculativeStats& o) {
  drafted += o.drafted;
  accepted += o.accepted;
  passes += o.passes;
  pass_tokens += o.pass_tokens;
  draft_passes += o.draft_passes;
  lookup_drafts += o.lookup_drafts;
  model_drafts += o.model_drafts;
  return *this;
}

Status CheckDraftModel(const Engine& target, const Engine& draft) {
  const std::string& t_path = target.options().model_path;
  const std::string& d_path = draft.options().model_path;
  const int64_t t_vocab = target.config().n_vocab, d_vocab = draft.config().n_vocab;
  const int32_t t_tok = target.tokenizer().n_vocab(), d_tok = draft.tokenizer().n_vocab();
  if (t_vocab != d_vocab || t_tok != d_tok) {
    return InvalidArgumentError("the draft model " + d_path + " has a vocabulary of " +
                                std::to_string(d_vocab) + " tokens (tokenizer " +
                                std::to_string(d_tok) + ") but the model " + t_path + " has " +
                                std::to_string(t_vocab) + " (tokenizer " + std::to_string(t_tok) +
                                "); a draft model must share the model's vocabulary");
  }
  for (int32_t id = 0; id < t_tok; ++id) {
    if (target.tokenizer().TokenPiece(id) != draft.tokenizer().TokenPiece(id)) {
      return InvalidArgumentError("the draft model " + d_path + " and the model " + t_path +
                                  " have different vocabularies: token " + std::to_string(id) +
                                  " is '" + draft.tokenizer().TokenPiece(id) + "' in one and '" +
                                  target.tokenizer().TokenPiece(id) + "' in the other");
    }
  }
  return Status::Ok();
}

std::vector<int32_t> PromptLookupDraft(std::span<const int32_t> context, int32_t ngram_max,
                                       int32_t ngram_min, int32_t k, int32_t* matched) {
  const int64_t len = static_cast<int64_t>(context.size());
  for (int64_t n = std::min<int64_t>(ngram_max, len - 1); n >= std::max(1, ngram_min) && k > 0;
       --n) {
    const int32_t* suffix = context.data() + len - n;
    // Latest first: the most recent occurrence is the likeliest to continue the same way. A match
    // must end before the context does, so at least one token follows it.
    for (int64_t start = len - n - 1; start >= 0; --start) {
      if (!std::equal(suffix, suffix + n, context.data() + start)) continue;
      const int64_t from = start + n;
      const int64_t count = std::min<int64_t>(k, len - from);
      if (matched != nullptr) *matched = static_cast<int32_t>(n);
      return std::vector<int32_t>(context.begin() + from, context.begin() + from + count);
    }
  }
  return {};
}

namespace {

// A seed for the draft sampler that differs from the model's (the acceptance draws must be
// independent of the draws that chose the drafts).
SamplingParams DraftSampling(SamplingParams p) {
  p.seed ^= 0x9e3779b97f4a7c15ull;
  return p;
}

// Exponential moving averages: how fast estimates follow new observations.
constexpr double kLearnRate = 0.1;
// An estimate that no draft tests (its drafts are not worth verifying) drifts back to its prior
// this fast, so a drafter that got better is tried again.
constexpr double kForgetRate = 0.02;
constexpr double kPriorAcceptance = 0.5;

void Ema(double* estimate, double sample, double rate) { *estimate += rate * (sample - *estimate); }

// The softmax probability of `logits`' largest entry (temperature 1).
float TopProbability(std::span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - max));
  return static_cast<float>(1.0 / sum);
}

}  // namespace

Drafter::Drafter(const SpeculativeOptions& options, const SamplingParams& sampling,
                 std::span<const int32_t> prompt)
    : options_(options),
      greedy_(sampling.temperature <= 0.0f),
      sampler_(DraftSampling(sampling)),
      tuning_(options.tuning != nullptr ? options.tuning : &own_tuning_) {
  for (int32_t t : prompt) sampler_.Accept(t);
  if (options_.draft_engine != nullptr) {
    session_ = options_.draft_session;
    if (session_ == nullptr) {
      own_session_ = options_.draft_engine->NewSession();
      session_ = own_session_.get();
    }
  }
}

Status Drafter::Prefill(std::span<const int32_t> prompt, SpeculativeStats* stats) {
  if (session_ == nullptr) return Status::Ok();
  const int64_t n_ctx = options_.draft_engine->n_ctx();
  if (static_cast<int64_t>(prompt.size()) >= n_ctx) return Status::Ok();  // it will not draft
  const int64_t kept = session_->KeepCommonPrefix(prompt);
  RETURN_IF_ERROR(options_.draft_engine->Eval(*session_, prompt.subspan(kept), false, &logits_));
  ++stats->draft_passes;
  return Status::Ok();
}

Status Drafter::Propose(std::span<const int32_t> context, int32_t k, std::vector<int32_t>* draft,
                        std::vector<std::vector<Sampler::Candidate>>* q, SpeculativeStats* stats) {
  draft->clear();
  q->clear();
  if (k <= 0) return Status::Ok();
  last_acceptance_ = nullptr;
  last_drafted_ = 0;
  if (options_.lookup_ngram > 0) {
    int32_t n = 0;
    *draft = PromptLookupDraft(context, options_.lookup_ngram, options_.lookup_ngram_min, k, &n);
    if (!draft->empty()) {
      double* acceptance = &tuning_->lookup_acceptance[std::min(n, SpeculativeTuning::kMaxNgram)];
      const int32_t length =
          BestLength(*acceptance, /*draft_token_cost=*/0.0, static_cast<int32_t>(draft->size()));
      if (length == 0) Ema(acceptance, kPriorAcceptance, kForgetRate);
      draft->resize(length);
      if (!draft->empty()) {
        ++stats->lookup_drafts;
        last_acceptance_ = acceptance;
        last_drafted_ = length;
        return Status::Ok();
      }
    }
  }
  if (session_ == nullptr) return Status::Ok();
  const int32_t length = BestLength(tuning_->model_acceptance, tuning_->draft_token_cost, k);
  if (length == 0) {
    Ema(&tuning_->model_acceptance, kPriorAcceptance, kForgetRate);
    return Status::Ok();
  }
  RETURN_IF_ERROR(DraftWithModel(context, length, draft, q, stats));
  if (!draft->empty()) {
    last_acceptance_ = &tuning_->model_acceptance;
    last_drafted_ = static_cast<int32_t>(draft->size());
  }
  return Status::Ok();
}

int32_t Drafter::BestLength(double acceptance, double draft_token_cost, int32_t limit) const {
  if (!options_.adaptive) return limit;
  // Expected tokens of a pass that verifies k drafts: 1 + a + … + a^k (the drafts are accepted
  // up to the first rejection, then the model's own token); its cost: a pass of k + 1 tokens and
  // k draft-model passes.
  double best_rate = 1.0, expected = 1.0, term = 1.0;
  int32_t best = 0;
  for (int32_t k = 1; k <= limit; ++k) {
    term *= acceptance;
    expected += term;
    const double rate = expected / (tuning_->PassCost(k + 1) + draft_token_cost * k);
    if (rate > best_rate) {
      best_rate = rate;
      best = k;
    }
  }
  return best;
}

void Drafter::Learn(int32_t pass_tokens, int64_t ns, int32_t accepted) {
  SpeculativeTuning& t = *tuning_;
  if (pass_tokens == 1) {
    Ema(&t.one_token_ns, static_cast<double>(ns), t.one_token_ns > 0 ? kLearnRate : 1.0);
  } else if (t.one_token_ns > 0 && pass_tokens <= SpeculativeTuning::kMaxPass) {
    double* cost = &t.pass_cost[pass_tokens];
    const double sample = std::max(1.0, static_cast<double>(ns) / t.one_token_ns);
    Ema(cost, sample, *cost > 0 ? kLearnRate : 1.0);
  }
  if (last_acceptance_ == nullptr) return;
  // Each accepted draft says "accepted"; the first rejection (if any) says "rejected"; drafts
  // after it were never tested.
  for (int32_t i = 0; i < accepted; ++i) Ema(last_acceptance_, 1.0, kLearnRate);
  if (accepted < last_drafted_) Ema(last_acceptance_, 0.0, kLearnRate);
  last_acceptance_ = nullptr;
}

Status Drafter::DraftWithModel(std::span<const int32_t> context, int32_t k,
                               std::vector<int32_t>* draft,
                               std::vector<std::vector<Sampler::Candidate>>* q,
                               SpeculativeStats* stats) {
  Engine& engine = *options_.draft_engine;
  // The draft model's context may be shorter than the model's: then it drafts less, or nothing.
  k = static_cast<int32_t>(
      std::min<int64_t>(k, engine.n_ctx() - static_cast<int64_t>(context.size())));
  if (k <= 0) return Status::Ok();
  const int64_t kept = session_->KeepCommonPrefix(context);
  RETURN_IF_ERROR(engine.Eval(*session_, context.subspan(kept), false, &logits_));
  ++stats->draft_passes;
  int64_t t_pass = MonotonicNanos();
  for (int32_t i = 0; i < k; ++i) {
    // Whether to draft this position is decided before the draw (on the most likely token's
    // probability), so a drafted token is distributed exactly as q.
    int32_t token;
    if (greedy_) {
      if (TopProbability(logits_) < options_.draft_p_min) break;
      token =
          static_cast<int32_t>(std::max_element(logits_.begin(), logits_.end()) - logits_.begin());
    } else {
      sampler_.Distribution(logits_, &dist_);
      if (dist_[0].p < options_.draft_p_min) break;
      token = sampler_.Draw(dist_);
    }
    draft->push_back(token);
    if (!greedy_) q->push_back(dist_);
    if (i + 1 == k) break;
    const int32_t one[1] = {token};
    RETURN_IF_ERROR(engine.Eval(*session_, one, false, &logits_));
    ++stats->draft_passes;
    // One-token draft passes measure the draft model's cost against the model's.
    const int64_t now = MonotonicNanos();
    if (tuning_->one_token_ns > 0) {
      Ema(&tuning_->draft_token_cost, (now - t_pass) / tuning_->one_token_ns, kLearnRate);
    }
    t_pass = now;
  }
  if (!draft->empty()) ++stats->model_drafts;
  return Status::Ok();
}

}  // namespace odlm
