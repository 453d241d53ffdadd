// tokenizer/bpe_trainer.h — trains a byte-level BPE vocabulary (GPT-2 style) from text.
//
// Written by hand: no library in the core may do it, and the algorithm is small.
//
// What it learns, exactly:
//   1. Each text is cut at every occurrence of a special-token text (leftmost, longest first, as
//      Tokenizer::Encode with parse_special matches them); the special texts are never counted.
//   2. The rest is split by the pre-tokenizer (pre_tokenizer.h; GPT-2's regex by default) into
//      "words"; identical words are counted once with their frequency.
//   3. Every word starts as its bytes, each byte the token of its GPT-2 byte-to-unicode character.
//   4. Repeatedly, the adjacent pair of tokens with the highest count (summed over all words,
//      weighted by word frequency) is merged into one new token, everywhere, left to right.
//      Ties: the pair whose left token text is lexicographically smallest, then the smallest
//      right token text (texts as stored: the byte-to-unicode UTF-8 spelling, compared bytewise).
//      A pair whose merged text is already a token is never merged (a special token's text such
//      as "Ġthe"; or, in principle, a text another pair made earlier, which did not happen on any
//      corpus tried): every token comes from exactly one merge, so encoding a training word with
//      the learned merges (by rank, as Tokenizer::Encode does) gives exactly the tokens training
//      ended with.
//   5. It stops when the vocabulary has `vocab_size` tokens, when no pair is left, or when the
//      best pair occurs fewer than `min_frequency` times.
//
// Vocabulary layout: ids 0..255 the bytes in GPT-2 order (the printable ones first, each ordered
// by its character, as GPT-2's own vocabulary and model_gen/gen_vocab.h), then the special tokens
// in the order given, then one token per merge in rank order.
//
// Cost: counting is O(text) (~10 bytes of scratch per byte of a 1 MiB chunk, chunks in
// parallel); training keeps, per pair, its count and the words that hold it, and updates both
// incrementally, so each merge costs O(occurrences of the merged pair in distinct words) plus
// heap operations. 20 MB of text to 32k tokens: ~1.6 s counting + ~1.7 s training on a shared
// 2-core machine. Memory: a few hundred bytes per distinct word.
// Thread-safety: none (one trainer per thread); AddTexts uses its own threads internally.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/vocab.h"

namespace odlm {

// Reported during BpeTrainer::Train.
struct BpeTrainProgress {
  int32_t n_tokens = 0;         // vocabulary size so far
  int32_t target = 0;           // the requested vocab_size
  int32_t n_merges = 0;         // merges learned so far
  int64_t last_count = 0;       // how often the last merged pair occurred (0 before the first)
  std::string_view last_token;  // the last merged token's text (valid during the call only)
  bool done = false;            // the final report
};

struct BpeTrainerOptions {
  // Tokens in the final vocabulary: 256 bytes + special tokens + merges. At least
  // 256 + special_tokens.size(), at most 2^24.
  int32_t vocab_size = 0;
  PreTokenizerKind pre = PreTokenizerKind::kGpt2;
  // Special token texts (non-empty, distinct, not a single byte's character), in id order.
  std::vector<std::string> special_tokens;
  // TokenType of the special tokens: kControl (matched in text only with parse_special) or
  // kUserDefined (always matched).
  TokenType special_type = TokenType::kControl;
  // Texts of special tokens for tokenizer.ggml.bos/eos/padding_token_id ("" = none). Each must be
  // one of special_tokens.
  std::string bos_token, eos_token, pad_token;
  bool add_bos = true;        // tokenizer.ggml.add_bos_token (false when there is no BOS)
  std::string chat_template;  // tokenizer.chat_template ("" = none)
  // A pair is merged only if it occurs at least this often (>= 1).
  int64_t min_frequency = 2;
  // Progress: called every `progress_every` merges and once at the end (done = true), on the
  // calling thread. May be empty.
  std::function<void(const BpeTrainProgress&)> progress;
  int32_t progress_every = 1000;
};

// Why Train stopped.
enum class BpeStop { kVocabFull, kNoPairs, kMinFrequency };

struct BpeTrainStats {
  int32_t n_merges = 0;
  int64_t blocked_pairs = 0;  // pairs skipped because their merged text was already a token
  BpeStop stop = BpeStop::kNoPairs;
};

class BpeTrainer {
 public:
  // Validates `options` (InvalidArgument naming the bad option).
  static StatusOr<std::unique_ptr<BpeTrainer>> Create(BpeTrainerOptions options);
  BpeTrainer(const BpeTrainer&) = delete;
  BpeTrainer& operator=(const BpeTrainer&) = delete;

  // Counts the words of each text: one document each (no word spans two). Runs on `threads`
  // threads (the calling one included; < 1 means 1). The texts need only live during the call.
  // Long texts are cut into ~1 MiB chunks at points where the pre-tokenizer's split does not
  // change (FindSafeTextCut); a text with no such point is pre-tokenized whole.
  void AddTexts(const std::vector<std::string_view>& texts, int threads = 1);
  void AddText(std::string_view text) { AddTexts({text}, 1); }

  int64_t n_bytes() const { return n_bytes_; }  // bytes of text added
  int64_t n_words() const { return n_words_; }  // words counted (with repeats)
  size_t n_unique_words() const { return counts_.size(); }
  // Each distinct word (raw bytes) and its count, in no particular order.
  const std::unordered_map<std::string_view, int64_t>& word_counts() const { return counts_; }

  // Learns the merges from the words added so far; the result is a complete BPE vocabulary
  // (model gpt2, the options' pre-tokenizer, types, special ids) that Tokenizer::FromVocab
  // accepts. Deterministic: the same words give the same vocabulary whatever the order they
  // were added in or the thread count. May be called again (the counts are not consumed).
  Vocab Train(BpeTrainStats* stats = nullptr) const;

 private:
  explicit BpeTrainer(BpeTrainerOptions options) : options_(std::move(options)) {}
  // Appends the special-token-free stretches of `text` to *out.
  void SplitAtSpecials(std::string_view text, std::vector<std::string_view>* out) const;

  BpeTrainerOptions options_;
  std::deque<std::string> word_store_;  // owns the bytes the keys of counts_ point to
  std::unordered_map<std::string_view, int64_t> counts_;
  int64_t n_bytes_ = 0, n_words_ = 0;
};

// Where a text may be cut so that pre-tokenizing the two parts separately gives the same pieces
// as the whole, for every PreTokenizerKind: after a '\n' whose neighbours are both printable
// ASCII (no pattern joins such a '\n' to what follows it, and none looks behind; checked
// against PreTokenize for every kind in bpe_trainer_test.cc). Returns the first such position
// >= `from` (and >= 2), or std::string_view::npos.
size_t FindSafeTextCut(std::string_view text, size_t from);

// The GPT-2 byte order: the bytes sorted by their byte-to-unicode character (ids 0..255 of a
// trained vocabulary).
const std::vector<uint8_t>& Gpt2ByteOrder();

}  // namespace odlm
