// tokenizer/streaming_decoder.cc — see streaming_decoder.h.
#include "tokenizer/streaming_decoder.h"

#include "tokenizer/unicode.h"

namespace odlm {

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool at_sequence_start,
                                   bool render_special)
    : tokenizer_(tokenizer),
      strip_space_(at_sequence_start && tokenizer.strips_leading_space()),
      render_special_(render_special) {}

std::string StreamingDecoder::Push(int32_t id) {
  tokenizer_.AppendDecoded(id, render_special_, &strip_space_, &pending_);
  const size_t complete = CompleteUtf8Prefix(pending_);
  std::string out = pending_.substr(0, complete);
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDecoder::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace odlm
