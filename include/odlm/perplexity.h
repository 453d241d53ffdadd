// odlm/perplexity.h — perplexity with llama.cpp's convention, so numbers compare with published
// ones.
//
// The tokens are cut into chunks of n_ctx; each chunk starts with BOS in place of its first token
// (when the model uses BOS), is evaluated from an empty cache, and only the predictions of its
// second half are scored: for j in [n_ctx/2, n_ctx-1), -log p(token[j+1] | tokens[0..j]).
#pragma once

#include <span>
#include <vector>

#include "odlm/engine.h"

namespace odlm {

struct PerplexityResult {
  double ppl = 0;  // exp(mean NLL) over all scored tokens
  double mean_nll = 0;
  int64_t n_chunks = 0;
  int64_t n_scored = 0;
  std::vector<double> chunk_ppl;  // running perplexity after each chunk
};

// InvalidArgument unless n_ctx >= 4 and there is at least one whole chunk (tokens >= n_ctx).
StatusOr<PerplexityResult> ComputePerplexity(Engine& engine, std::span<const int32_t> tokens,
                                             int64_t n_ctx);

// log-softmax of `logits` at `target`: log p(target).
double LogProbability(std::span<const float> logits, int32_t target);

}  // namespace odlm
