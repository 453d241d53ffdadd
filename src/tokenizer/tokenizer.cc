// tokenizer/tokenizer.cc — building a Tokenizer from a Vocab, special-token partitioning, Encode
// and Decode. The merge algorithms are in merge.cc.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <deque>

#include "gguf/gguf_reader.h"
#include "tokenizer/unicode.h"

namespace odlm {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 "▁"
const std::string kEmpty;

// "<0xNN>" → NN, or -1.
int ParseByteToken(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0;;) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) {
      out.append(s.substr(pos));
      return out;
    }
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
}

// Texts of control tokens that end a turn in common chat formats.
constexpr const char* kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>",         "<end_of_turn>",        "<|endoftext|>",
    "<|eom_id|>", "</s>",       "<|end_of_text|>", "<|END_OF_TURN_TOKEN|>"};

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& file) {
  ASSIGN_OR_RETURN(Vocab vocab, LoadVocab(file));
  return FromVocab(std::move(vocab));
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromVocab(Vocab vocab) {
  std::unique_ptr<Tokenizer> t(new Tokenizer(std::move(vocab)));
  RETURN_IF_ERROR(t->Build());
  return t;
}

Status Tokenizer::Build() {
  const int32_t n = vocab_.size();
  if (n <= 0) return InvalidArgumentError("vocabulary: no tokens");
  if (!vocab_.scores.empty() && vocab_.scores.size() != vocab_.tokens.size()) {
    return InvalidArgumentError("vocabulary: " + std::to_string(vocab_.scores.size()) +
                                " scores for " + std::to_string(n) + " tokens");
  }
  if (!vocab_.types.empty() && vocab_.types.size() != vocab_.tokens.size()) {
    return InvalidArgumentError("vocabulary: " + std::to_string(vocab_.types.size()) +
                                " token types for " + std::to_string(n) + " tokens");
  }
  for (int32_t* id : {&vocab_.bos_id, &vocab_.eos_id, &vocab_.eot_id, &vocab_.eom_id,
                      &vocab_.pad_id, &vocab_.unk_id}) {
    if (*id >= n || *id < -1) {
      return InvalidArgumentError("vocabulary: special token id " + std::to_string(*id) +
                                  " outside 0.." + std::to_string(n - 1));
    }
  }
  const bool spm = vocab_.model == VocabModel::kSpm;

  // Types (inferred when the file has none).
  types_ = vocab_.types;
  if (types_.empty()) {
    types_.assign(n, TokenType::kNormal);
    for (int32_t i = 0; i < n; ++i) {
      if (spm && ParseByteToken(vocab_.tokens[i]) >= 0) types_[i] = TokenType::kByte;
    }
    for (int32_t id : {vocab_.bos_id, vocab_.eos_id, vocab_.eot_id, vocab_.eom_id}) {
      if (id >= 0) types_[id] = TokenType::kControl;
    }
    if (vocab_.unk_id >= 0) types_[vocab_.unk_id] = TokenType::kUnknown;
  }

  // Pieces and lookups.
  pieces_.resize(n);
  std::fill(std::begin(byte_token_), std::end(byte_token_), -1);
  text_to_id_.reserve(n);
  lookup_.reserve(n);
  for (int32_t i = 0; i < n; ++i) {
    const std::string& text = vocab_.tokens[i];
    const TokenType type = types_[i];
    text_to_id_.emplace(text, i);
    const bool special = type == TokenType::kControl || type == TokenType::kUnknown ||
                         type == TokenType::kUserDefined;
    if (spm) {
      const int b = type == TokenType::kByte ? ParseByteToken(text) : -1;
      if (b >= 0) {
        pieces_[i] = std::string(1, static_cast<char>(b));
        if (byte_token_[b] < 0) byte_token_[b] = i;
      } else if (special) {
        pieces_[i] = text;
      } else {
        pieces_[i] = ReplaceAll(text, kSpmSpace, " ");
      }
      if (Mergeable(i)) lookup_.emplace(text, i);
    } else {
      if (special) {
        pieces_[i] = text;
      } else {
        std::string bytes;
        for (size_t pos = 0; pos < text.size();) {
          uint32_t cp;
          const size_t len = DecodeUtf8(text, pos, &cp);
          const int32_t b = cp == kInvalidUtf8 ? -1 : UnicodeToByte(cp);
          if (b >= 0) {
            bytes.push_back(static_cast<char>(b));
          } else {
            bytes.append(text, pos, len);
          }
          pos += len;
        }
        pieces_[i] = std::move(bytes);
      }
    }
  }
  if (spm) {
    spm_split_at_space_ = true;
    for (int32_t i = 0; i < n && spm_split_at_space_; ++i) {
      if (!Mergeable(i)) continue;
      const std::string& t = vocab_.tokens[i];
      size_t first_other = 0;  // past the leading run of "▁"
      while (t.compare(first_other, kSpmSpace.size(), kSpmSpace) == 0)
        first_other += kSpmSpace.size();
      if (t.find(kSpmSpace, first_other) != std::string::npos) {
        spm_split_at_space_ = false;
      }
    }
  }
  if (!spm) {
    for (int32_t i = 0; i < n; ++i) {
      if (Mergeable(i)) lookup_.emplace(pieces_[i], i);
    }
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      auto hit = lookup_.find(std::string_view(&c, 1));
      if (hit != lookup_.end()) byte_token_[b] = hit->second;
    }
    merges_.reserve(vocab_.merges.size());
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
      const std::string& m = vocab_.merges[rank];
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) {
        return InvalidArgumentError("tokenizer.ggml.merges[" + std::to_string(rank) + "] = '" + m +
                                    "': expected two tokens separated by a space");
      }
      auto l = text_to_id_.find(std::string_view(m).substr(0, sp));
      auto r = text_to_id_.find(std::string_view(m).substr(sp + 1));
      auto merged = text_to_id_.find(m.substr(0, sp) + m.substr(sp + 1));
      if (l == text_to_id_.end() || r == text_to_id_.end() || merged == text_to_id_.end() ||
          !Mergeable(merged->second)) {
        continue;  // a merge whose parts or result the vocabulary lacks can never apply
      }
      const uint64_t key =
          (static_cast<uint64_t>(l->second) << 32) | static_cast<uint32_t>(r->second);
      merges_.emplace(key,
                      (static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(merged->second));
    }
  }

  // Special-token tries.
  for (int k = 0; k < 2; ++k) special_trie_[k].assign(1, TrieNode{});
  for (int32_t i = 0; i < n; ++i) {
    const TokenType type = types_[i];
    const bool user = type == TokenType::kUserDefined;
    if (!user && type != TokenType::kControl && type != TokenType::kUnknown) continue;
    const std::string& text = vocab_.tokens[i];
    if (text.empty()) continue;
    for (int k = user ? 0 : 1; k < 2; ++k) {
      std::vector<TrieNode>& trie = special_trie_[k];
      int32_t node = 0;
      for (unsigned char c : text) {
        int32_t child = -1;
        for (const auto& [byte, next] : trie[node].next) {
          if (byte == c) child = next;
        }
        if (child < 0) {
          child = static_cast<int32_t>(trie.size());
          trie[node].next.emplace_back(c, child);
          trie.emplace_back();
        }
        node = child;
      }
      if (trie[node].token < 0) trie[node].token = i;
    }
  }

  // End-of-generation ids.
  for (int32_t id : {vocab_.eos_id, vocab_.eot_id, vocab_.eom_id}) {
    if (id >= 0) eog_ids_.push_back(id);
  }
  for (const char* t : kEndOfTurnTexts) {
    auto it = text_to_id_.find(t);
    if (it != text_to_id_.end() && types_[it->second] == TokenType::kControl) {
      eog_ids_.push_back(it->second);
    }
  }
  std::sort(eog_ids_.begin(), eog_ids_.end());
  eog_ids_.erase(std::unique(eog_ids_.begin(), eog_ids_.end()), eog_ids_.end());
  return Status::Ok();
}

bool Tokenizer::Mergeable(int32_t id) const {
  const TokenType t = types_[id];
  return t == TokenType::kNormal || t == TokenType::kUserDefined || t == TokenType::kUndefined;
}

std::vector<Tokenizer::Fragment> Tokenizer::Partition(std::string_view text,
                                                      bool parse_special) const {
  const std::vector<TrieNode>& trie = special_trie_[parse_special ? 1 : 0];
  std::vector<Fragment> out;
  if (trie[0].next.empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return out;
  }
  size_t start = 0, pos = 0;
  while (pos < text.size()) {
    // Longest special token starting at pos.
    int32_t node = 0, best = -1;
    size_t best_len = 0;
    for (size_t k = pos; k < text.size(); ++k) {
      const auto c = static_cast<unsigned char>(text[k]);
      int32_t child = -1;
      for (const auto& [byte, next] : trie[node].next) {
        if (byte == c) {
          child = next;
          break;
        }
      }
      if (child < 0) break;
      node = child;
      if (trie[node].token >= 0) {
        best = trie[node].token;
        best_len = k + 1 - pos;
      }
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    if (pos > start) out.push_back({text.substr(start, pos - start), -1});
    out.push_back({text.substr(pos, best_len), best});
    pos += best_len;
    start = pos;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
  return out;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  return EncodeFragments(Partition(text, parse_special), text.size(), add_bos);
}

std::vector<int32_t> Tokenizer::EncodeSegments(const std::vector<TextSegment>& segments,
                                               bool add_bos) const {
  std::vector<Fragment> parts;
  size_t text_size = 0;
  for (const TextSegment& s : segments) {
    for (const Fragment& f : Partition(s.text, s.parse_special)) parts.push_back(f);
    text_size += s.text.size();
  }
  // Raw fragments meet only at a segment boundary (Partition never emits two in a row): join
  // them so merging sees the same stretches as in the concatenated text.
  std::deque<std::string> joined;  // owns the joined texts; a deque keeps views into it valid
  std::vector<Fragment> fragments;
  for (size_t i = 0; i < parts.size();) {
    size_t j = i + 1;
    if (parts[i].token < 0) {
      while (j < parts.size() && parts[j].token < 0) ++j;
    }
    if (j == i + 1) {
      fragments.push_back(parts[i]);
    } else {
      std::string& text = joined.emplace_back();
      for (size_t k = i; k < j; ++k) text += parts[k].text;
      fragments.push_back({text, -1});
    }
    i = j;
  }
  return EncodeFragments(fragments, text_size, add_bos);
}

std::vector<int32_t> Tokenizer::EncodeFragments(const std::vector<Fragment>& fragments,
                                                size_t text_size, bool add_bos) const {
  std::vector<int32_t> out;
  out.reserve(text_size / 3 + 2);
  if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  bool prev_special = true;
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    if (vocab_.model == VocabModel::kSpm) {
      // SentencePiece sees spaces as "▁", with one before each stretch of text that starts the
      // input or follows a special token (the "legacy" Llama behaviour).
      std::string escaped = (vocab_.add_space_prefix && prev_special) ? std::string(kSpmSpace) : "";
      escaped += ReplaceAll(f.text, " ", kSpmSpace);
      EncodeSpm(escaped, &out);
    } else {
      for (std::string_view piece : PreTokenize(vocab_.pre, f.text)) EncodeBpePiece(piece, &out);
    }
    prev_special = false;
  }
  return out;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  bool strip = strips_leading_space();
  for (int32_t id : ids) AppendDecoded(id, render_special, &strip, &out);
  return out;
}

void Tokenizer::AppendDecoded(int32_t id, bool render_special, bool* strip,
                              std::string* out) const {
  if (id < 0 || id >= n_vocab()) return;
  const TokenType type = types_[id];
  if (type == TokenType::kControl) {
    // The encoder puts a space prefix after every special token: drop it again after one.
    *strip = strips_leading_space();
    if (render_special) *out += pieces_[id];
    return;
  }
  if (type == TokenType::kUnknown && !render_special) {
    *out += " \xE2\x81\x87 ";  // " ⁇ ", SentencePiece's surface form of an unknown piece
    *strip = false;
    return;
  }
  const std::string& piece = pieces_[id];
  if (piece.empty()) return;
  out->append(piece, *strip && piece[0] == ' ' ? 1 : 0, std::string::npos);
  *strip = false;
}

const std::string& Tokenizer::TokenPiece(int32_t id) const {
  return id >= 0 && id < n_vocab() ? pieces_[id] : kEmpty;
}

const std::string& Tokenizer::TokenText(int32_t id) const {
  return id >= 0 && id < n_vocab() ? vocab_.tokens[id] : kEmpty;
}

TokenType Tokenizer::GetTokenType(int32_t id) const {
  return id >= 0 && id < n_vocab() ? types_[id] : TokenType::kUndefined;
}

int32_t Tokenizer::FindToken(std::string_view text) const {
  auto it = text_to_id_.find(text);
  return it == text_to_id_.end() ? -1 : it->second;
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

}  // namespace odlm
