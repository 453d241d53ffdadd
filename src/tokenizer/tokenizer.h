// tokenizer/tokenizer.h — text ↔ token ids, exactly as the model's original tokenizer does it.
//
// Two model kinds (vocab.h): SentencePiece-style (`llama`: score-ordered merging of characters,
// byte fallback "<0xNN>", a "▁" space prefix) and byte-level BPE (`gpt2`: the pre-tokenizer named
// by `tokenizer.ggml.pre`, then rank-ordered merges over bytes mapped to printable characters).
//
// Special tokens: control and unknown tokens ("<s>", "<|im_start|>") are matched in the text as
// whole tokens only when Encode's parse_special is true (chat templates); user-defined tokens are
// always matched (as Hugging Face's added tokens are). Matching is leftmost, longest first.
//
// Any byte string encodes (invalid UTF-8 too: SentencePiece falls back to byte tokens, BPE maps
// the raw bytes) and Decode(Encode(x)) == x for every x when the vocabulary covers all bytes.
//
// Thread-safety: immutable after construction; all const methods may run concurrently.
// Cost: Encode is O(n log n) in the text length; loading builds hash maps over the vocabulary
// (and merges), ~0.3 s for Llama 3's 128k tokens and 280k merges.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace odlm {

class GgufFile;

// A stretch of text for Tokenizer::EncodeSegments and whether control/unknown token texts inside
// it become those tokens (true for a chat template's own text, false for message content).
struct TextSegment {
  std::string_view text;
  bool parse_special = false;
};

class Tokenizer {
 public:
  // Reads the vocabulary of `file` (vocabulary-only files too) and builds the tokenizer.
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& file);
  // Validates `vocab` (sizes, special ids, merges; BPE needs a token for each byte's character)
  // and builds the tokenizer.
  static StatusOr<std::unique_ptr<Tokenizer>> FromVocab(Vocab vocab);

  // Token ids of `text`: BOS first when add_bos and the model has one (EOS is never added).
  // parse_special: match control/unknown token texts as whole tokens (see the file comment).
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool parse_special) const;

  // Token ids of the concatenated segments: special-token texts are matched inside each segment
  // by its own parse_special (never across a boundary), and the raw text between matches is
  // merged as one stretch even where it crosses a boundary. So a control token can come only from
  // a parse_special segment, and when no other segment holds a control/unknown token text the ids
  // equal Encode(concatenation, add_bos, true). Same cost as Encode plus one copy of the raw text
  // that crosses a boundary.
  std::vector<int32_t> EncodeSegments(const std::vector<TextSegment>& segments, bool add_bos) const;

  // The text of a whole sequence: the concatenated pieces, control tokens rendered as nothing
  // (as their text with render_special), unknown tokens as " ⁇ ", ids outside the vocabulary
  // skipped; with a SentencePiece space prefix, the first piece's leading space is removed.
  std::string Decode(const std::vector<int32_t>& ids, bool render_special = false) const;

  // Appends token `id` as Decode renders it. *strip_leading_space (in/out): drop the piece's
  // leading space; cleared once a token renders text. Decode starts with strips_leading_space().
  void AppendDecoded(int32_t id, bool render_special, bool* strip_leading_space,
                     std::string* out) const;

  // The raw bytes token `id` stands for ("▁" → " ", "<0x0A>" → "\n", BPE bytes unmapped; control
  // tokens give their text). "" for ids outside the vocabulary.
  const std::string& TokenPiece(int32_t id) const;
  // The token's text as stored in the vocabulary ("" outside it).
  const std::string& TokenText(int32_t id) const;
  TokenType GetTokenType(int32_t id) const;

  // The id of a token whose stored text is exactly `text` (e.g. "<|im_end|>"), or -1.
  int32_t FindToken(std::string_view text) const;

  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  int32_t eot_id() const { return vocab_.eot_id; }
  int32_t n_vocab() const { return vocab_.size(); }
  bool add_bos() const { return vocab_.add_bos; }
  // True for EOS, EOT, EOM and control tokens that end a turn in common chat formats
  // ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", …).
  bool IsEndOfGeneration(int32_t id) const;
  // True if Decode drops the first leading space (SentencePiece with a space prefix).
  bool strips_leading_space() const {
    return vocab_.model == VocabModel::kSpm && vocab_.add_space_prefix;
  }
  const Vocab& vocab() const { return vocab_; }

 private:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Status Build();

  struct Fragment {
    std::string_view text;  // raw text when token < 0
    int32_t token = -1;
  };
  std::vector<Fragment> Partition(std::string_view text, bool parse_special) const;
  // Ids of partitioned text: special tokens as they are, each raw fragment merged.
  std::vector<int32_t> EncodeFragments(const std::vector<Fragment>& fragments, size_t text_size,
                                       bool add_bos) const;
  void EncodeSpm(std::string_view text, std::vector<int32_t>* out) const;
  void EncodeSpmSegment(std::string_view text, std::vector<int32_t>* out) const;
  void EncodeBpePiece(std::string_view piece, std::vector<int32_t>* out) const;
  void AppendBytesAsTokens(std::string_view bytes, std::vector<int32_t>* out) const;
  bool Mergeable(int32_t id) const;

  Vocab vocab_;
  std::vector<std::string> pieces_;  // [n_vocab] TokenPiece
  std::vector<TokenType> types_;     // [n_vocab]
  // SentencePiece: stored text → id of mergeable tokens. BPE: raw bytes → id of mergeable tokens.
  std::unordered_map<std::string_view, int32_t> lookup_;
  std::unordered_map<std::string_view, int32_t> text_to_id_;  // stored text → id (all tokens)
  int32_t byte_token_[256];
  // SentencePiece: no mergeable token has "▁" after another character (EncodeSpm splits there).
  bool spm_split_at_space_ =
      false;  // SPM: "<0xNN>" ids; BPE: the id of each byte's character (-1 none)
  // BPE merges: (left id << 32 | right id) → (rank << 32 | merged id).
  std::unordered_map<uint64_t, uint64_t> merges_;
  // Byte tries of the special-token texts Partition matches: [0] user-defined only, [1] also
  // control and unknown tokens. Node 0 is the root.
  struct TrieNode {
    std::vector<std::pair<uint8_t, int32_t>> next;  // byte → child node
    int32_t token = -1;                             // a token ends here
  };
  std::vector<TrieNode> special_trie_[2];
  std::vector<int32_t> eog_ids_;
};

// The GPT-2 byte-to-unicode mapping: the printable character that stands for byte `b` in BPE
// token texts, and back (-1 for a code point that stands for no byte).
uint32_t ByteToUnicode(uint8_t b);
int32_t UnicodeToByte(uint32_t cp);
// ByteToUnicode(b) as UTF-8: the byte's spelling in BPE token texts ("Ġ" for ' ').
std::string ByteToUnicodeText(uint8_t b);

}  // namespace odlm
