// engine/drafter.h — where Generate's draft tokens come from (odlm/speculative.h): prompt lookup
// first, then the draft model. Internal to engine/.
//
// A Drafter lives for one generation. It keeps the draft model's session in step with the
// context it is given (the common prefix is kept, the rest evaluated), so rejected drafts are
// rolled back there too, and a sampler of its own for sampled drafts (seeded apart from the
// model's, whose draws decide acceptance). Not thread-safe.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "odlm/speculative.h"
#include "sample/sampler.h"

namespace odlm {

class Drafter {
 public:
  // `prompt`: the tokens before the first generated one (the draft sampler's penalty history).
  Drafter(const SpeculativeOptions& options, const SamplingParams& sampling,
          std::span<const int32_t> prompt);

  // Feeds the draft model (if any) the prompt, so that drafting starts from a prefilled draft
  // session (Generate calls it during its own prefill). Errors: the draft model's evaluation.
  Status Prefill(std::span<const int32_t> prompt, SpeculativeStats* stats);

  // Up to `k` tokens that may follow `context` (prompt and generated tokens so far). For each
  // draft token, q gets the distribution it was drawn from, or q is left empty when every draft
  // token had probability 1 (lookup, greedy draft model). Counts into *stats. Errors: the draft
  // model's evaluation.
  Status Propose(std::span<const int32_t> context, int32_t k, std::vector<int32_t>* draft,
                 std::vector<std::vector<Sampler::Candidate>>* q, SpeculativeStats* stats);
  // Records a token the generation committed (the draft sampler's penalty history).
  void Accept(int32_t token) { sampler_.Accept(token); }
  // After the model's pass over `pass_tokens` tokens (the last Propose's draft and the token
  // before it) that took `ns` and accepted `accepted` drafts: updates the tuning.
  void Learn(int32_t pass_tokens, int64_t ns, int32_t accepted);

 private:
  // The draft length with the most expected tokens per unit of time, at most `limit`, when each
  // drafted token is accepted with probability `acceptance` and costs `draft_token_cost`.
  int32_t BestLength(double acceptance, double draft_token_cost, int32_t limit) const;
  Status DraftWithModel(std::span<const int32_t> context, int32_t k, std::vector<int32_t>* draft,
                        std::vector<std::vector<Sampler::Candidate>>* q, SpeculativeStats* stats);

  SpeculativeOptions options_;
  bool greedy_;
  Sampler sampler_;
  std::unique_ptr<Session> own_session_;  // when options.draft_session is null
  Session* session_ = nullptr;            // the draft model's session, or null without one
  std::vector<float> logits_;
  std::vector<Sampler::Candidate> dist_;
  SpeculativeTuning own_tuning_;  // when options.tuning is null
  SpeculativeTuning* tuning_ = nullptr;
  double* last_acceptance_ = nullptr;  // the estimate the last draft came from (null: no draft)
  int32_t last_drafted_ = 0;
};

}  // namespace odlm
