// tokenizer/vocab_writer.h — a Vocab into GGUF metadata (`tokenizer.*` keys), the inverse of
// LoadVocab (vocab.h), and vocabulary-only GGUF files (no tensors) that odlm and llama.cpp read.
#pragma once

#include <string>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace odlm {

class GgufWriter;

// Sets the keys llama.cpp's tokenizer loader reads, in this order:
//   tokenizer.ggml.model             "gpt2" (BPE) or "llama" (SentencePiece)
//   tokenizer.ggml.pre               BPE only: vocab.pre_name, else the pre-tokenizer's name
//   tokenizer.ggml.tokens            string[n_vocab]
//   tokenizer.ggml.scores            f32[n_vocab], only when vocab.scores is not empty
//   tokenizer.ggml.token_type        i32[n_vocab] (all 1 = normal when vocab.types is empty)
//   tokenizer.ggml.merges            BPE only: string[n_merges], "left right" in rank order
//   tokenizer.ggml.bos_token_id, eos_token_id, eot_token_id, eom_token_id, padding_token_id,
//   unknown_token_id                 u32, each only when the id is set (>= 0)
//   tokenizer.ggml.add_bos_token     bool
//   tokenizer.ggml.add_eos_token     bool
//   tokenizer.ggml.add_space_prefix  bool, SentencePiece only
//   tokenizer.chat_template          string, only when not empty
// Keys already set in `w` keep their position and get the new value. Invalid vocabularies are
// the caller's concern (Tokenizer::FromVocab validates).
void SetVocabMetadata(const Vocab& vocab, GgufWriter* w);

// Writes a vocabulary-only GGUF file (those keys, no general.* keys, no tensors) crash-safely
// (GgufWriter::WriteFile). Errors name the path.
Status WriteVocabGguf(const Vocab& vocab, const std::string& path);

}  // namespace odlm
