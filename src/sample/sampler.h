// sample/sampler.h — turns a row of logits into the next token.
//
// The chain, in order (as llama.cpp's default, so settings mean the same thing):
//   repetition / frequency / presence penalties over the last `penalty_last_n` tokens
//   → top-k → top-p (nucleus) → min-p → temperature → draw.
// top-p and min-p look at the softmax of the (penalized) logits before temperature.
// temperature <= 0 means greedy (argmax of the penalized logits; ties go to the lowest id).
// Deterministic: the same seed and the same sequence of calls give the same tokens on any machine
// (own uniform draw from a 64-bit Mersenne Twister, no std:: distributions).
// Not thread-safe: one sampler per generation.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace odlm {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;              // <= 0: off
  float top_p = 0.95f;             // >= 1: off
  float min_p = 0.05f;             // <= 0: off
  float repeat_penalty = 1.0f;     // 1: off; > 1 discourages tokens seen recently
  float frequency_penalty = 0.0f;  // subtracts count * value
  float presence_penalty = 0.0f;   // subtracts value once if seen
  int32_t penalty_last_n = 64;     // window of recent tokens the penalties look at
  uint64_t seed = 0;

  static SamplingParams Greedy() {
    SamplingParams p;
    p.temperature = 0.0f;
    return p;
  }
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  struct Candidate {
    int32_t id = 0;
    float logit = 0;
    float p = 0;  // probability after the last softmax step
  };

  // Picks a token from logits [n_vocab]. Does not record it: call Accept for the chosen token
  // (and for prompt tokens, so penalties see them).
  int32_t Sample(std::span<const float> logits);
  void Accept(int32_t token);

  // The distribution Sample draws from for `logits` (penalties from the accepted history, then
  // the chain): the tokens it can pick with their probabilities p (summing to 1), most likely
  // first. Greedy: the one argmax token with p = 1. Consumes no randomness.
  void Distribution(std::span<const float> logits, std::vector<Candidate>* out) const;
  // A draw from `dist` (as Distribution gives it): one uniform number from the sampler's stream.
  int32_t Draw(std::span<const Candidate> dist);

  // Speculative sampling's acceptance rule for a drafted token (Leviathan et al. 2023; Chen et
  // al. 2023). `draft` was drawn from the proposal distribution `q` (empty: a point mass at
  // `draft`, as for prompt lookup or a greedy draft model); p is Distribution(logits). Accepts
  // the draft with probability min(1, p(draft) / q(draft)); on rejection returns a draw from
  // max(0, p − q) normalized. Either way the returned token is distributed as p, so speculative
  // decoding leaves the output distribution unchanged; with greedy params it is exactly the
  // argmax. *accepted tells which case happened (the token is then `draft`). Draws one uniform
  // number unless acceptance is certain, one more on rejection (none when greedy). Does not
  // Accept the token.
  int32_t SampleDraft(std::span<const float> logits, int32_t draft, std::span<const Candidate> q,
                      bool* accepted);
  void Reset();  // forgets history, reseeds

  const SamplingParams& params() const { return params_; }

  // The chain's steps, exposed for tests. Candidates are (token, logit) pairs.
  void ApplyPenalties(std::vector<Candidate>* c) const;
  static void TopK(std::vector<Candidate>* c, int32_t k);  // sorts by logit, descending
  static void Softmax(std::vector<Candidate>* c);          // c sorted descending
  static void TopP(std::vector<Candidate>* c, float p);    // needs Softmax first
  static void MinP(std::vector<Candidate>* c, float p);    // needs Softmax first

 private:
  double Uniform();  // [0, 1)

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::deque<int32_t> recent_;
  std::vector<Candidate> scratch_;
  std::vector<Candidate> dist_;  // SampleDraft's p
};

}  // namespace odlm
