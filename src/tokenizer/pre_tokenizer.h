// tokenizer/pre_tokenizer.h — splits text into the pieces a byte-level BPE model merges within,
// exactly as the model's pre-tokenizer regexes (named by `tokenizer.ggml.pre`) would.
//
// The regexes are implemented as hand-written matchers (no regex engine in the on-device core),
// each reproducing PCRE/Oniguruma leftmost-first backtracking semantics of its pattern. A
// pre-tokenizer is a sequence of stages; each stage splits every piece of the previous stage into
// its matches and the unmatched gaps between them (both are kept), like a chain of `Split`
// pre-tokenizers with "isolated" behaviour. pre_tokenizer_pcre_test.cc checks every stage against
// the real regexes with PCRE2 on random and adversarial text.
//
// Invalid UTF-8 bytes are treated as one character each with the class of U+FFFD (a symbol), so
// every input splits into pieces that concatenate back to exactly the input bytes.
// Cost: O(n) time and about 10 bytes of memory per input byte. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm {

enum class PreTokenizerKind {
  kLlama3,         // llama-bpe (Llama 3), dbrx, smaug-bpe
  kQwen2,          // qwen2: the Llama 3 pattern with single digits
  kGpt2,           // gpt-2, mpt, olmo, jais
  kStarcoder,      // starcoder, refact, smollm, command-r, codeshell: digits split, then gpt-2
  kFalcon,         // falcon
  kDeepseekLlm,    // deepseek-llm
  kDeepseekCoder,  // deepseek-coder
};

// The kind for a `tokenizer.ggml.pre` value; InvalidArgument listing the supported names if
// unknown.
StatusOr<PreTokenizerKind> PreTokenizerFromName(std::string_view name);
// A canonical name of the kind ("llama-bpe", "qwen2", ...).
const char* PreTokenizerName(PreTokenizerKind kind);

// The regexes of each stage of `kind`, in PCRE syntax (documentation and the PCRE2 test).
std::vector<std::string> PreTokenizerRegexes(PreTokenizerKind kind);

// Splits `text` into pieces (views into `text`, in order, non-empty, covering it exactly).
std::vector<std::string_view> PreTokenize(PreTokenizerKind kind, std::string_view text);

// One stage alone (index into PreTokenizerRegexes(kind)) applied to the whole `text`: for tests.
std::vector<std::string_view> PreTokenizeStage(PreTokenizerKind kind, size_t stage,
                                               std::string_view text);

}  // namespace odlm
