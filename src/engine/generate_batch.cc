// engine/generate_batch.cc — many prompts, one batched decode loop.
#include <memory>

#include "odlm/generate.h"
#include "platform/process_stats.h"

namespace odlm {

StatusOr<std::vector<GenerateResult>> GenerateBatch(
    Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
    const GenerateOptions& options) {
  struct Seq {
    std::unique_ptr<Session> session;
    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<TextStream> stream;
    std::vector<float> logits;
    bool active = true;
  };
  if (options.speculative.enabled()) {
    return InvalidArgumentError(
        "speculative decoding verifies one sequence's drafts at a time: use Generate");
  }
  const size_t n = prompts.size();
  std::vector<GenerateResult> results(n);
  std::vector<Seq> seqs(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& p = prompts[i];
    if (p.empty()) return InvalidArgumentError("prompt " + std::to_string(i) + " has no tokens");
    if (static_cast<int64_t>(p.size()) >= engine.n_ctx()) {
      return OutOfRangeError("prompt " + std::to_string(i) + " has " + std::to_string(p.size()) +
                             " tokens; the context holds " + std::to_string(engine.n_ctx()));
    }
    const int64_t t0 = MonotonicNanos();
    Seq& s = seqs[i];
    s.session = engine.NewSession();
    RETURN_IF_ERROR(engine.Eval(*s.session, p, false, &s.logits));
    s.sampler = std::make_unique<Sampler>(options.sampling);
    for (int32_t t : p) s.sampler->Accept(t);
    s.stream = std::make_unique<TextStream>(engine.tokenizer(), p.back(), options.stop,
                                            options.trim_leading_space);
    results[i].prompt_tokens = static_cast<int64_t>(p.size());
    results[i].prefill_ms = (MonotonicNanos() - t0) / 1e6;
    s.active = options.max_tokens > 0;
  }
  const int64_t t_decode = MonotonicNanos();
  std::vector<Engine::BatchItem> items;
  std::vector<size_t> owners;
  std::vector<int32_t> next(n);
  std::vector<std::vector<float>> batch_logits;
  for (;;) {
    items.clear();
    owners.clear();
    for (size_t i = 0; i < n; ++i) {
      Seq& s = seqs[i];
      if (!s.active) continue;
      GenerateResult& r = results[i];
      const int32_t token = s.sampler->Sample(s.logits);
      s.sampler->Accept(token);
      r.tokens.push_back(token);
      bool done = false;
      if (options.stop_at_end_of_generation && engine.tokenizer().IsEndOfGeneration(token)) {
        r.finish = FinishReason::kEndOfGeneration;
        done = true;
      } else {
        bool stopped = false;
        r.text += s.stream->Push(token, &stopped);
        if (stopped) {
          r.finish = FinishReason::kStop;
          done = true;
        } else if (static_cast<int32_t>(r.tokens.size()) >= options.max_tokens) {
          r.finish = FinishReason::kLength;
          done = true;
        } else if (s.session->n_tokens() + 1 >= engine.n_ctx()) {
          r.finish = FinishReason::kContextFull;
          done = true;
        }
      }
      if (done) {
        if (r.finish != FinishReason::kStop) r.text += s.stream->Flush();
        s.active = false;
        continue;
      }
      next[i] = token;
      items.push_back({s.session.get(), std::span<const int32_t>(&next[i], 1)});
      owners.push_back(i);
    }
    if (items.empty()) break;
    RETURN_IF_ERROR(engine.EvalBatch(items, &batch_logits));
    for (size_t k = 0; k < owners.size(); ++k) seqs[owners[k]].logits.swap(batch_logits[k]);
  }
  const double decode_ms = (MonotonicNanos() - t_decode) / 1e6;
  for (auto& r : results) r.decode_ms = decode_ms;
  return results;
}

}  // namespace odlm
