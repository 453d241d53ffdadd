// engine/perplexity.cc — chunked perplexity (llama.cpp convention).
#include "odlm/perplexity.h"

#include <algorithm>
#include <cmath>

namespace odlm {

double LogProbability(std::span<const float> logits, int32_t target) {
  float max = logits[0];
  for (float v : logits) max = std::max(max, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max));
  return static_cast<double>(logits[target] - max) - std::log(sum);
}

StatusOr<PerplexityResult> ComputePerplexity(Engine& engine, std::span<const int32_t> tokens,
                                             int64_t n_ctx) {
  if (n_ctx < 4) return InvalidArgumentError("context for perplexity must be >= 4 tokens");
  if (n_ctx > engine.n_ctx()) {
    return InvalidArgumentError("perplexity context " + std::to_string(n_ctx) +
                                " exceeds the engine's context " + std::to_string(engine.n_ctx()) +
                                " (raise -c)");
  }
  const int64_t n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (n_chunks == 0) {
    return InvalidArgumentError("the text has " + std::to_string(tokens.size()) +
                                " tokens; perplexity needs at least one chunk of " +
                                std::to_string(n_ctx));
  }
  const int64_t n_vocab = engine.config().n_vocab;
  const bool bos = engine.tokenizer().add_bos();
  PerplexityResult r;
  double nll = 0.0;
  std::vector<int32_t> chunk(n_ctx);
  std::vector<float> logits;
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx, chunk.begin());
    if (bos) chunk[0] = engine.tokenizer().bos_id();
    auto session = engine.NewSession();
    RETURN_IF_ERROR(engine.Eval(*session, chunk, /*all_logits=*/true, &logits));
    for (int64_t j = n_ctx / 2; j < n_ctx - 1; ++j) {
      nll -= LogProbability({logits.data() + j * n_vocab, static_cast<size_t>(n_vocab)},
                            tokens[c * n_ctx + j + 1]);
      ++r.n_scored;
    }
    r.chunk_ppl.push_back(std::exp(nll / r.n_scored));
  }
  r.n_chunks = n_chunks;
  r.mean_nll = nll / r.n_scored;
  r.ppl = std::exp(r.mean_nll);
  return r;
}

}  // namespace odlm
