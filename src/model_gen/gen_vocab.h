// model_gen/gen_vocab.h — the built-in byte-level BPE vocabulary of generated models.
//
// A GPT-2-style byte-level vocabulary (tokenizer.ggml.model = "gpt2", pre-tokenizer "gpt-2"):
// ids 0..255 are the 256 bytes in their printable byte-to-unicode spelling (GPT-2 order), ids
// 256..258 the special tokens <|endoftext|>, <|im_start|>, <|im_end|>, then merges learned by a
// small BPE training on an embedded English text (deterministic: most frequent pair first, ties
// broken by the pair's spelling), then unused padding tokens up to the requested size.
// Written here (not taken from any project) so the default model needs no download.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace odlm {

struct ByteLevelVocab {
  std::vector<std::string> tokens;   // [n_vocab] token spellings (byte-to-unicode UTF-8)
  std::vector<int32_t> token_types;  // [n_vocab] 1 normal, 3 control, 5 unused
  std::vector<std::string> merges;   // "left right", in priority order
  int32_t bos_id = 0;                // <|endoftext|>
  int32_t eos_id = 0;                // <|im_end|>
  int32_t pad_id = 0;                // <|endoftext|>
  std::string chat_template;         // ChatML (Jinja)
};

inline constexpr int64_t kByteLevelVocabMinSize = 259;  // 256 bytes + 3 special tokens

// Builds a vocabulary of exactly n_vocab tokens (InvalidArgument if below
// kByteLevelVocabMinSize). Deterministic; costs a few ms (more merges for larger n_vocab, up to
// the point where every word of the training text is one token).
StatusOr<ByteLevelVocab> BuildByteLevelVocab(int64_t n_vocab);

}  // namespace odlm
