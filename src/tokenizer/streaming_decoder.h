// tokenizer/streaming_decoder.h — turns generated token ids into text as they arrive, never
// emitting half a UTF-8 character.
//
// Push(id) returns the text that is complete so far: when a multi-byte character is split across
// byte tokens ("<0xE2>" "<0x96>" "<0x81>") its first bytes are held back until the rest arrives.
// Flush() returns whatever is held (an incomplete character at the very end, as raw bytes).
// The concatenation of every Push and the final Flush equals Tokenizer::Decode of the same ids
// (with at_sequence_start) — including the SentencePiece rule that drops the first piece's
// leading space. Invalid bytes are passed through as they are (they can never become complete).
//
// Not thread-safe (one decoder per stream); the Tokenizer must outlive it. O(1) per token.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace odlm {

class StreamingDecoder {
 public:
  // at_sequence_start: the ids begin a sequence (apply the leading-space rule); false when they
  // continue text already shown (e.g. generation after a prompt).
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool at_sequence_start = true,
                            bool render_special = false);

  // The newly completed text after token `id` ("" while a character is incomplete).
  std::string Push(int32_t id);
  // The bytes still held back; resets the decoder to continue a sequence.
  std::string Flush();
  // True while bytes are held back.
  bool has_pending() const { return !pending_.empty(); }

 private:
  const Tokenizer& tokenizer_;
  bool strip_space_;
  bool render_special_;
  std::string pending_;
};

}  // namespace odlm
