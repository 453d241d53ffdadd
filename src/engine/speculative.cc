// engine/speculative.cc — draft tokens for speculative decoding: prompt lookup and a draft model
// (odlm/speculative.h, engine/drafter.h). The verification is Generate's (engine/generate.cc).
#include "odlm/speculative.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "engine/drafter.h"

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
                                       int32_t ngram_min, int32_t k) {
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
    : options_(options), greedy_(sampling.temperature <= 0.0f), sampler_(DraftSampling(sampling)) {
  for (int32_t t : prompt) sampler_.Accept(t);
  if (options_.draft_engine != nullptr) {
    session_ = options_.draft_session;
    if (session_ == nullptr) {
      own_session_ = options_.draft_engine->NewSession();
      session_ = own_session_.get();
    }
  }
}

Status Drafter::Propose(std::span<const int32_t> context, int32_t k, std::vector<int32_t>* draft,
                        std::vector<std::vector<Sampler::Candidate>>* q, SpeculativeStats* stats) {
  draft->clear();
  q->clear();
  if (k <= 0) return Status::Ok();
  if (options_.lookup_ngram > 0) {
    *draft = PromptLookupDraft(context, options_.lookup_ngram, options_.lookup_ngram_min, k);
    if (!draft->empty()) {
      ++stats->lookup_drafts;
      return Status::Ok();
    }
  }
  if (session_ == nullptr) return Status::Ok();
  return DraftWithModel(context, k, draft, q, stats);
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
  }
  if (!draft->empty()) ++stats->model_drafts;
  return Status::Ok();
}

}  // namespace odlm
