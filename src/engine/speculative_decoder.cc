// engine/speculative_decoder.cc — one generation's speculative decoding, a pass at a time
// (odlm/speculative.h): draft, verify in one forward pass, accept in order, roll back the rest.
#include <algorithm>

#include "engine/drafter.h"
#include "odlm/speculative.h"
#include "platform/process_stats.h"

namespace odlm {

SpeculativeDecoder::SpeculativeDecoder(std::unique_ptr<Drafter> drafter,
                                       const SpeculativeOptions& options,
                                       std::span<const int32_t> prompt)
    : drafter_(std::move(drafter)),
      draft_max_(options.draft_max),
      context_(prompt.begin(), prompt.end()) {}

SpeculativeDecoder::~SpeculativeDecoder() = default;

Status SpeculativeDecoder::Check(const Engine& engine, const SpeculativeOptions& options) {
  if (options.draft_max < 0 || options.lookup_ngram < 0 || options.lookup_ngram_min < 1) {
    return InvalidArgumentError(
        "speculative decoding needs draft_max >= 0, lookup_ngram >= 0 and lookup_ngram_min >= 1");
  }
  if (options.draft_engine != nullptr) {
    RETURN_IF_ERROR(CheckDraftModel(engine, *options.draft_engine));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<SpeculativeDecoder>> SpeculativeDecoder::Start(
    const Engine& engine, const SpeculativeOptions& options, const SamplingParams& sampling,
    std::span<const int32_t> prompt, SpeculativeStats* stats) {
  RETURN_IF_ERROR(Check(engine, options));
  auto drafter = std::make_unique<Drafter>(options, sampling, prompt);
  RETURN_IF_ERROR(drafter->Prefill(prompt, stats));
  return std::unique_ptr<SpeculativeDecoder>(
      new SpeculativeDecoder(std::move(drafter), options, prompt));
}

void SpeculativeDecoder::Accept(int32_t token) {
  drafter_->Accept(token);
  context_.push_back(token);
}

Status SpeculativeDecoder::Round(Engine& engine, Session& session, Sampler& sampler, int32_t token,
                                 int64_t max_draft, const std::function<bool(int32_t)>& emit,
                                 int32_t* next, SpeculativeStats* stats) {
  const int64_t n_vocab = engine.config().n_vocab;
  const int64_t before = session.n_tokens();
  const int64_t k = std::max<int64_t>(0, std::min<int64_t>(draft_max_, max_draft));
  RETURN_IF_ERROR(drafter_->Propose(context_, static_cast<int32_t>(k), &draft_, &q_, stats));
  // `token` and the drafts after it in one pass; row i of the logits predicts what follows
  // draft i (row 0: what follows `token`).
  step_.assign(1, token);
  step_.insert(step_.end(), draft_.begin(), draft_.end());
  const int64_t t_pass = MonotonicNanos();
  if (draft_.empty()) {
    RETURN_IF_ERROR(engine.Eval(session, step_, /*all_logits=*/false, &logits_));
  } else {
    RETURN_IF_ERROR(engine.EvalDraft(session, step_, &logits_));
  }
  const int64_t pass_ns = MonotonicNanos() - t_pass;
  ++stats->passes;
  stats->drafted += static_cast<int64_t>(draft_.size());
  *next = -1;
  bool go_on = true;
  int64_t accepted = 0;
  for (size_t i = 0;; ++i) {
    const std::span<const float> row(logits_.data() + (draft_.empty() ? 0 : i * n_vocab),
                                     static_cast<size_t>(n_vocab));
    if (i == draft_.size()) {
      *next = sampler.Sample(row);
      sampler.Accept(*next);
      break;
    }
    bool ok = false;
    const int32_t t = sampler.SampleDraft(
        row, draft_[i], q_.empty() ? std::span<const Sampler::Candidate>() : q_[i], &ok);
    sampler.Accept(t);
    if (!ok) {
      *next = t;
      break;
    }
    ++accepted;
    ++stats->accepted;
    Accept(t);
    if (!emit(t)) {
      go_on = false;
      break;
    }
  }
  drafter_->Learn(static_cast<int32_t>(step_.size()), pass_ns, static_cast<int32_t>(accepted));
  // Rolls back the KV (and attention statistics) of rejected drafts: the session holds `token`,
  // the accepted drafts and not the pending token — or, when generation ended, all but the last.
  const int64_t keep = before + 1 + accepted - (go_on ? 0 : 1);
  if (draft_.empty()) {
    session.Truncate(keep);
  } else {
    session.AcceptDraft(keep);
  }
  return Status::Ok();
}

}  // namespace odlm
