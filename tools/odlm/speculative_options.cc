// tools/odlm/speculative_options.cc — speculative decoding flags (speculative_options.h).
#include "speculative_options.h"

namespace odlm::cli {

void AddSpeculativeOptions(CLI::App& app, SpeculativeCliOptions* o) {
  app.add_option("--draft-model", o->draft_model,
                 "speculative decoding: a smaller GGUF model with the same vocabulary drafts "
                 "tokens that the model verifies several per forward pass (greedy output is "
                 "plain decoding's, up to kernel rounding on AVX-512 machines: "
                 "docs/PERFORMANCE.md; sampled output keeps its distribution)");
  app.add_option("--lookup-ngram", o->lookup_ngram,
                 "speculative decoding by prompt lookup: draft the tokens that followed the latest "
                 "earlier occurrence of the last N tokens (N down to --lookup-ngram-min) in the "
                 "prompt and the reply; cheap wins when replies copy the prompt (grounded QA). "
                 "0 = off")
      ->check(CLI::Range(0, 64));
  app.add_option("--lookup-ngram-min", o->lookup_ngram_min, "shortest n-gram prompt lookup tries")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--draft-max", o->draft_max,
                 "speculative decoding: draft tokens verified per forward pass at most (0 = off)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  app.add_flag("--draft-fixed", o->fixed_length,
               "draft --draft-max tokens whenever a drafter has them, instead of the length the "
               "measured acceptance and pass costs favour");
  app.add_option("--draft-p-min", o->draft_p_min,
                 "the draft model stops drafting at a position whose most likely token has a "
                 "lower probability")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
}

bool SetUpSpeculative(const char* prog, const SpeculativeCliOptions& o, const ModelOptions& model,
                      const Engine& target, std::unique_ptr<Engine>* draft,
                      SpeculativeOptions* out) {
  *out = SpeculativeOptions();
  if (!o.requested()) return true;
  out->draft_max = o.draft_max;
  out->lookup_ngram = o.lookup_ngram;
  out->lookup_ngram_min = std::min(o.lookup_ngram_min, std::max(1, o.lookup_ngram));
  out->draft_p_min = o.draft_p_min;
  out->adaptive = !o.fixed_length;
  if (o.draft_model.empty()) return true;
  ModelOptions d = model;
  d.model = o.draft_model;
  d.lora.clear();  // adapters fit the model, not its drafter
  d.ctx = target.n_ctx();
  d.verbose = false;
  *draft = OpenEngineOrReport(prog, d);
  if (*draft == nullptr) return false;
  if (Status st = CheckDraftModel(target, **draft); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", prog, st.message().c_str());
    return false;
  }
  if (model.verbose)
    std::fprintf(stderr, "%s: draft model %s\n", prog, (*draft)->Describe().c_str());
  out->draft_engine = draft->get();
  return true;
}

void PrintSpeculativeStats(FILE* f, const char* prog, const SpeculativeStats& s) {
  std::fprintf(f,
               "%s: speculative: %lld drafted (%lld by lookup, %lld by the draft model), %lld "
               "accepted (%.1f%%); %.2f tokens per forward pass (%lld passes, %lld draft-model "
               "passes)\n",
               prog, static_cast<long long>(s.drafted), static_cast<long long>(s.lookup_drafts),
               static_cast<long long>(s.model_drafts), static_cast<long long>(s.accepted),
               100.0 * s.acceptance_rate(), s.tokens_per_pass(), static_cast<long long>(s.passes),
               static_cast<long long>(s.draft_passes));
}

}  // namespace odlm::cli
