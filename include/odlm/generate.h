// odlm/generate.h — the generation loop: prompt → streamed text, with sampling and stop rules.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "odlm/engine.h"
#include "odlm/speculative.h"
#include "sample/sampler.h"

namespace odlm {

struct GenerateOptions {
  SamplingParams sampling = SamplingParams::Greedy();
  int32_t max_tokens = 128;               // generated tokens at most
  std::vector<std::string> stop;          // stop strings: generation ends before the first match
  bool stop_at_end_of_generation = true;  // EOS / EOT tokens end generation
  // Whitespace before the text's first other character is not emitted (chat replies: the "codi"
  // template's model writes the space that begins its turn; no reply starts with meaningful
  // whitespace). The tokens are unchanged.
  bool trim_leading_space = false;
  // Draft tokens and verify them several per forward pass (odlm/speculative.h); off by default.
  // The output is what plain decoding gives: the same tokens when greedy (see
  // docs/PERFORMANCE.md on arithmetic), the same distribution when sampling.
  SpeculativeOptions speculative;
};

enum class FinishReason { kLength, kStop, kEndOfGeneration, kCancelled, kContextFull };
std::string_view FinishReasonName(
    FinishReason r);  // "length", "stop", "eos", "cancelled", "context"

struct GenerateResult {
  std::string text;             // what was streamed, stop string excluded
  std::vector<int32_t> tokens;  // generated token ids (including a final EOS, if any)
  int64_t prompt_tokens = 0;    // tokens in the prompt
  int64_t reused_tokens = 0;    // of which came from the session's cache (prefix reuse)
  FinishReason finish = FinishReason::kLength;
  double prefill_ms = 0;  // time to first token, including prompt evaluation
  double decode_ms = 0;   // time for the remaining tokens
  // Forward passes after prefill and the tokens they produced, and what drafting did.
  SpeculativeStats speculative;
};

// Receives text as it becomes final (whole UTF-8 characters, never part of a stop string).
// Return false to cancel generation.
using TextCallback = std::function<bool(std::string_view text)>;

// Continues `session` with `prompt` (the full token sequence the session should now hold; the
// common prefix with what it already holds is reused) and generates. Every generated token but
// the last is evaluated into the session, so a follow-up turn that repeats them reuses them.
// Errors: InvalidArgument for an empty prompt or max_tokens < 0, OutOfRange for a prompt that
// leaves no room in the context, and Engine::Eval's errors (the session then holds what Eval
// left). Running out of context while generating is not an error: FinishReason::kContextFull.
// on_text runs on the calling thread. Thread-safety: as Engine::Eval (evaluations of one engine
// are serialized; a session belongs to one caller at a time).
StatusOr<GenerateResult> Generate(Engine& engine, Session& session, std::span<const int32_t> prompt,
                                  const GenerateOptions& options, const TextCallback& on_text);

// Incremental detokenizer for generation: feeds tokens, returns only text that is final.
// Holds back an incomplete UTF-8 character and any tail that could begin a stop string. What it
// returns is always valid UTF-8: bytes that form no character become U+FFFD.
class TextStream {
 public:
  // `anchor` is the token before the first generated one (its text is not emitted; it gives
  // the tokenizer the right context for the leading-space rule). trim_leading_space: as
  // GenerateOptions::trim_leading_space.
  TextStream(const Tokenizer& tokenizer, int32_t anchor, std::vector<std::string> stop,
             bool trim_leading_space = false);
  // Adds a token; returns newly final text. Sets *stopped when a stop string completed.
  std::string Push(int32_t token, bool* stopped);
  // The rest (at the end of generation), without a partial stop string's removal.
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;
  size_t anchor_len_;
  std::vector<std::string> stop_;
  bool trim_leading_space_;
  std::string text_;    // decoded text so far (after the anchor)
  size_t emitted_ = 0;  // bytes of text_ already returned
  bool stopped_ = false;
};

}  // namespace odlm

namespace odlm {

// Generates for several prompts at once: each prompt is prefilled in its own session, then all
// unfinished sequences decode together, one batched forward pass per step (Engine::EvalBatch).
// Results are in prompt order and equal, token for token, what Generate gives each prompt alone
// with the same options (greedy or seeded sampling; each sequence has its own sampler).
// InvalidArgument when options.speculative is enabled (speculative decoding is Generate's).
StatusOr<std::vector<GenerateResult>> GenerateBatch(
    Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
    const GenerateOptions& options);

}  // namespace odlm
