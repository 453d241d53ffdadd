// tokenizer/vocab.h — a model's vocabulary as stored in GGUF metadata (`tokenizer.*` keys).
//
// A Vocab is plain data: it can be loaded from a GgufFile (LoadVocab; vocabulary-only files with
// no tensors load too) or built in code for tests. Tokenizer::FromVocab validates it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/pre_tokenizer.h"

namespace odlm {

class GgufFile;

// `tokenizer.ggml.model`: "llama" (SentencePiece) or "gpt2" (byte-level BPE).
enum class VocabModel { kSpm, kBpe };

// `tokenizer.ggml.token_type` values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  VocabModel model = VocabModel::kSpm;
  // Byte-level BPE only: how text is split before merging (`tokenizer.ggml.pre`).
  PreTokenizerKind pre = PreTokenizerKind::kGpt2;
  std::string pre_name;  // as stored ("" if absent)

  // [n_vocab] each. Token text as stored: SentencePiece uses U+2581 "▁" for a space and
  // "<0xNN>" for byte tokens; BPE stores bytes through the GPT-2 byte-to-unicode mapping.
  std::vector<std::string> tokens;
  std::vector<float> scores;  // SentencePiece merge priorities (higher merges first); may be empty
  std::vector<TokenType> types;  // empty means all kNormal (byte tokens detected by their text)
  // BPE merges "left right" in rank order (index = rank, lower merges first).
  std::vector<std::string> merges;

  // Special ids; -1 where the model has none.
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t eot_id = -1;
  int32_t eom_id = -1;
  int32_t pad_id = -1;
  int32_t unk_id = -1;

  bool add_bos = true;   // tokenizer.ggml.add_bos_token
  bool add_eos = false;  // tokenizer.ggml.add_eos_token (informational; Encode never adds EOS)
  bool add_space_prefix =
      true;  // SentencePiece: a "▁" before the text (tokenizer.ggml.add_space_prefix)
  // BPE: take a whole pre-tokenized piece as one token when the vocabulary has it, before merging
  // (Llama 3's `ignore_merges`). Set from the pre-tokenizer.
  bool ignore_merges = false;

  std::string chat_template;  // tokenizer.chat_template ("" if absent)

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
};

// Reads the `tokenizer.*` keys of `file`. Errors name the key and what was expected (a missing
// token list, arrays of different lengths, an unknown model or pre-tokenizer name).
StatusOr<Vocab> LoadVocab(const GgufFile& file);

}  // namespace odlm
