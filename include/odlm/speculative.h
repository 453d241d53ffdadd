// odlm/speculative.h — speculative decoding: draft several tokens cheaply, verify them with the
// model in one forward pass (odlm::Generate does it when GenerateOptions::speculative is on).
//
// Each decode step evaluates the pending token together with up to `draft_max` draft tokens and
// gets the model's logits for every one of them. Drafts come from
//   prompt lookup  the latest earlier occurrence of the context's last n tokens (n from
//                  lookup_ngram down to lookup_ngram_min) in the prompt and the generated text;
//                  the tokens that followed it are the draft (grounded answers copy spans of the
//                  document, so they are cheap to guess); a proposal with probability 1;
//   a draft model  a smaller GGUF with the same vocabulary, run token by token ahead of the model
//                  (greedy when the sampling is greedy, else sampled with the same settings);
//                  used when lookup finds nothing or is off.
// The drafts are checked in order with Sampler::SampleDraft (accept with min(1, p/q), else draw
// from the residual): greedy output is the argmax at every step, as without drafts, and sampled
// output keeps its distribution. The KV of rejected drafts is rolled back (Session::Truncate), so
// the session ends holding what plain decoding leaves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "odlm/engine.h"
#include "sample/sampler.h"

namespace odlm {

// What speculative decoding has learned about a model and its drafters, which sets how many
// tokens each step drafts: the count that maximizes the expected tokens per unit of time, from
// the acceptance rates (a run of k drafts yields 1 + α + … + α^k tokens on average) and from the
// measured cost of a pass of each length (one token costs 1) and of a draft-model pass. A model
// whose weights stream from memory verifies extra tokens almost free; a small, cache-resident one
// pays nearly a pass per token, so it only drafts when the drafts are good. Starts from priors and
// learns with every pass; callers keep one across generations (a chat, a server) to carry it over.
// Not thread-safe.
struct SpeculativeTuning {
  static constexpr int kMaxNgram = 16;
  static constexpr int kMaxPass = 65;  // the longest pass whose cost is learned (draft_max + 1)
  double one_token_ns = 0;             // a one-token pass (0: not measured yet)
  // pass_cost[n]: a pass of n tokens, in one-token passes (0: not measured; then
  // 1 + extra_token_cost · (n − 1)). Not linear: kernels run tokens in tiles.
  double pass_cost[kMaxPass + 1] = {};
  double extra_token_cost = 0.25;  // the prior's cost of each further token of a pass
  double draft_token_cost = 0.5;   // a draft-model pass, in one-token passes
  double lookup_acceptance[kMaxNgram + 1] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
                                             0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  double model_acceptance = 0.5;  // per token the draft model drafts

  // The cost of a pass of n tokens, in one-token passes.
  double PassCost(int32_t n) const {
    if (n >= 1 && n <= kMaxPass && pass_cost[n] > 0) return pass_cost[n];
    return 1.0 + extra_token_cost * (n - 1);
  }
};

struct SpeculativeOptions {
  // Draft tokens verified per forward pass at most; 0 turns speculative decoding off.
  int32_t draft_max = 0;
  // Prompt lookup: the longest n-gram tried (0: lookup off) and the shortest.
  int32_t lookup_ngram = 0;
  int32_t lookup_ngram_min = 2;
  // A draft model (borrowed; CheckDraftModel must accept it), or null for none.
  Engine* draft_engine = nullptr;
  // The draft model's session (borrowed), kept by callers that generate many times in one
  // conversation so the draft model is only fed new tokens; null: a temporary one per call.
  Session* draft_session = nullptr;
  // The draft model stops drafting at a token it gives probability below this (a draft it
  // doubts is likely rejected, and every drafted token costs a draft pass).
  float draft_p_min = 0.5f;
  // What sets the draft length (borrowed; null: a fresh one per call). false for `adaptive`
  // drafts draft_max tokens whenever a drafter has them.
  SpeculativeTuning* tuning = nullptr;
  bool adaptive = true;

  bool enabled() const { return draft_max > 0 && (lookup_ngram > 0 || draft_engine != nullptr); }
};

// What speculative decoding did in one generation (all zero but the passes when it was off).
struct SpeculativeStats {
  int64_t drafted = 0;        // draft tokens verified by the model
  int64_t accepted = 0;       // of which the model accepted
  int64_t passes = 0;         // the model's forward passes after prefill
  int64_t pass_tokens = 0;    // tokens those passes produced (generated tokens but the first)
  int64_t draft_passes = 0;   // the draft model's forward passes
  int64_t lookup_drafts = 0;  // steps whose draft came from prompt lookup
  int64_t model_drafts = 0;   // steps whose draft came from the draft model

  double acceptance_rate() const { return drafted > 0 ? double(accepted) / drafted : 0.0; }
  // 1 without speculation; k + 1 when every pass accepts k drafts.
  double tokens_per_pass() const { return passes > 0 ? double(pass_tokens) / passes : 0.0; }
  SpeculativeStats& operator+=(const SpeculativeStats& o);
};

// Checks that `draft` can draft for `target`: the same vocabulary size (InvalidArgument naming
// both models and sizes) and the same token pieces (naming the first token that differs).
Status CheckDraftModel(const Engine& target, const Engine& draft);

// Prompt lookup: for n = ngram_max down to ngram_min, looks for the latest earlier occurrence of
// the last n tokens of `context`; returns up to `k` tokens that followed the first match found
// (empty when none) and, if `matched` is given, sets it to that n. Cost: O(context · ngram_max)
// token comparisons.
std::vector<int32_t> PromptLookupDraft(std::span<const int32_t> context, int32_t ngram_max,
                                       int32_t ngram_min, int32_t k, int32_t* matched = nullptr);

class Drafter;

// One generation's speculative decoding, a forward pass at a time: Generate runs it to the end,
// the service's scheduler interleaves it with other requests' batched steps. Holds the drafter
// (and the draft model's session) and the context it drafts from; the model's sampler is the
// caller's. Not thread-safe: one generation, one thread at a time.
class SpeculativeDecoder {
 public:
  // InvalidArgument for negative counts, CheckDraftModel's errors (nothing is evaluated).
  static Status Check(const Engine& engine, const SpeculativeOptions& options);
  // For a generation continuing `prompt` on `engine`: Check's errors; prefills the draft model
  // with the prompt (its errors).
  static StatusOr<std::unique_ptr<SpeculativeDecoder>> Start(const Engine& engine,
                                                             const SpeculativeOptions& options,
                                                             const SamplingParams& sampling,
                                                             std::span<const int32_t> prompt,
                                                             SpeculativeStats* stats);
  ~SpeculativeDecoder();

  // Records a generated token the caller emitted (the first one, and each pending one a Round
  // returns): the drafter's history.
  void Accept(int32_t token);

  // One forward pass of `engine` over `token` — generated and Accept()ed, not yet evaluated;
  // `session` holds everything before it — and up to min(draft_max, max_draft) draft tokens after
  // it. Drafts are checked in order with sampler.SampleDraft; each accepted one is recorded and
  // passed to emit(t), until emit returns false (generation ends with t). Then the token after
  // the accepted drafts is sampled (and sampler.Accept()ed). The session is left as plain
  // decoding would leave it: every emitted token evaluated but the pending one. *next: that
  // pending token (sampled, not yet emitted), or -1 when emit returned false (the session then
  // holds everything but the last emitted token). Errors: the model's or the draft model's
  // evaluation (the session then holds what it held before the pass).
  Status Round(Engine& engine, Session& session, Sampler& sampler, int32_t token, int64_t max_draft,
               const std::function<bool(int32_t)>& emit, int32_t* next, SpeculativeStats* stats);

 private:
  explicit SpeculativeDecoder(std::unique_ptr<Drafter> drafter, const SpeculativeOptions& options,
                              std::span<const int32_t> prompt);
  std::unique_ptr<Drafter> drafter_;
  int32_t draft_max_;
  std::vector<int32_t> context_;  // prompt and generated tokens
  std::vector<int32_t> draft_, step_;
  std::vector<std::vector<Sampler::Candidate>> q_;
  std::vector<float> logits_;
};

}  // namespace odlm
