// engine/generate.cc — the generation loop (with speculative decoding's verification and
// rollback, odlm/speculative.h) and its incremental detokenizer.
#include "odlm/generate.h"

#include <algorithm>
#include <memory>

#include "base/utf8.h"
#include "odlm/speculative.h"
#include "platform/process_stats.h"

namespace odlm {

std::string_view FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kEndOfGeneration:
      return "eos";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kContextFull:
      return "context";
  }
  return "unknown";
}

TextStream::TextStream(const Tokenizer& tokenizer, int32_t anchor, std::vector<std::string> stop,
                       bool trim_leading_space)
    : tokenizer_(tokenizer),
      ids_{anchor},
      stop_(std::move(stop)),
      trim_leading_space_(trim_leading_space) {
  anchor_len_ = tokenizer_.Decode(ids_).size();
  stop_.erase(std::remove(stop_.begin(), stop_.end(), std::string()), stop_.end());
}

std::string TextStream::Push(int32_t token, bool* stopped) {
  *stopped = false;
  if (stopped_) return "";
  ids_.push_back(token);
  std::string full = tokenizer_.Decode(ids_);
  text_ = full.size() >= anchor_len_ ? full.substr(anchor_len_) : std::string();
  if (trim_leading_space_) {
    // Recomputed from all tokens each time, so the cut only moves until text first appears.
    const size_t first = text_.find_first_not_of(" \t\n\r");
    text_.erase(0, first == std::string::npos ? text_.size() : first);
  }
  // A completed stop string ends the text before it.
  size_t cut = std::string::npos;
  for (const auto& s : stop_) {
    const size_t from = emitted_ >= s.size() ? emitted_ - s.size() + 1 : 0;
    const size_t at = text_.find(s, from);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    stopped_ = *stopped = true;
    std::string out = cut > emitted_ ? text_.substr(emitted_, cut - emitted_) : std::string();
    emitted_ = std::max(emitted_, cut);
    return SanitizeUtf8(out);
  }
  // Hold back a tail that could still grow into a stop string, and an incomplete character.
  size_t final_len = CompleteUtf8Prefix(text_);
  for (const auto& s : stop_) {
    for (size_t k = std::min(s.size() - 1, text_.size()); k > 0; --k) {
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        final_len = std::min(final_len, text_.size() - k);
        break;
      }
    }
  }
  if (final_len <= emitted_) return "";
  std::string out = text_.substr(emitted_, final_len - emitted_);
  emitted_ = final_len;
  return SanitizeUtf8(out);
}

std::string TextStream::Flush() {
  if (stopped_ || emitted_ >= text_.size()) return "";
  std::string out = text_.substr(emitted_);
  emitted_ = text_.size();
  return SanitizeUtf8(out);
}

StatusOr<GenerateResult> Generate(Engine& engine, Session& session, std::span<const int32_t> prompt,
                                  const GenerateOptions& options, const TextCallback& on_text) {
  if (prompt.empty()) return InvalidArgumentError("the prompt has no tokens");
  if (options.max_tokens < 0) return InvalidArgumentError("max_tokens must be >= 0");
  if (static_cast<int64_t>(prompt.size()) >= engine.n_ctx()) {
    return OutOfRangeError("the prompt has " + std::to_string(prompt.size()) +
                           " tokens; the context holds " + std::to_string(engine.n_ctx()));
  }
  RETURN_IF_ERROR(SpeculativeDecoder::Check(engine, options.speculative));
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  const int64_t t0 = MonotonicNanos();
  r.reused_tokens = session.KeepCommonPrefix(prompt);
  std::vector<float> logits;
  RETURN_IF_ERROR(engine.Eval(session, prompt.subspan(r.reused_tokens), false, &logits));
  Sampler sampler(options.sampling);
  for (int32_t t : prompt) sampler.Accept(t);
  TextStream stream(engine.tokenizer(), prompt.back(), options.stop, options.trim_leading_space);
  std::unique_ptr<SpeculativeDecoder> decoder;
  if (options.speculative.enabled()) {
    ASSIGN_OR_RETURN(decoder, SpeculativeDecoder::Start(engine, options.speculative,
                                                        options.sampling, prompt, &r.speculative));
  }
  const int64_t n_prompt = static_cast<int64_t>(prompt.size());
  // Records a generated token and applies the stop rules; false when generation ends with it.
  // The rules see the session as plain decoding would hold it (every generated token but this
  // one evaluated), whatever drafts it holds now.
  auto emit = [&](int32_t token) {
    r.tokens.push_back(token);
    if (options.stop_at_end_of_generation && engine.tokenizer().IsEndOfGeneration(token)) {
      r.finish = FinishReason::kEndOfGeneration;
      return false;
    }
    bool stopped = false;
    std::string piece = stream.Push(token, &stopped);
    if (!piece.empty()) {
      r.text += piece;
      if (on_text && !on_text(piece)) {
        r.finish = FinishReason::kCancelled;
        return false;
      }
    }
    if (stopped) {
      r.finish = FinishReason::kStop;
      return false;
    }
    const int64_t generated = static_cast<int64_t>(r.tokens.size());
    if (generated == options.max_tokens) return false;
    if (n_prompt + generated >= engine.n_ctx()) {
      r.finish = FinishReason::kContextFull;
      return false;
    }
    return true;
  };
  int64_t t_first = 0;
  int32_t token = -1;
  if (options.max_tokens > 0) {
    token = sampler.Sample(logits);
    sampler.Accept(token);
    t_first = MonotonicNanos();
  }
  while (token >= 0) {
    if (decoder) decoder->Accept(token);
    if (!emit(token)) break;
    if (decoder) {
      // Drafts may fill what is left of max_tokens and of the context after `token`.
      const int64_t generated = static_cast<int64_t>(r.tokens.size());
      const int64_t room = std::min<int64_t>(options.max_tokens - generated - 1,
                                             engine.n_ctx() - 1 - n_prompt - generated);
      RETURN_IF_ERROR(
          decoder->Round(engine, session, sampler, token, room, emit, &token, &r.speculative));
      continue;
    }
    const int32_t one[1] = {token};
    RETURN_IF_ERROR(engine.Eval(session, one, /*all_logits=*/false, &logits));
    ++r.speculative.passes;
    token = sampler.Sample(logits);
    sampler.Accept(token);
  }
  // As plain decoding leaves it: the last generated token is not evaluated.
  if (!r.tokens.empty()) session.Truncate(n_prompt + static_cast<int64_t>(r.tokens.size()) - 1);
  r.speculative.pass_tokens = std::max<int64_t>(0, static_cast<int64_t>(r.tokens.size()) - 1);
  if (r.finish != FinishReason::kStop && r.finish != FinishReason::kCancelled) {
    std::string rest = stream.Flush();
    if (!rest.empty()) {
      r.text += rest;
      if (on_text) on_text(rest);
    }
  }
  const int64_t t_end = MonotonicNanos();
  if (t_first == 0) t_first = t_end;
  r.prefill_ms = (t_first - t0) / 1e6;
  r.decode_ms = (t_end - t_first) / 1e6;
  return r;
}

}  // namespace odlm
