// tokenizer/merge.cc — the two merge algorithms.
//
// SentencePiece (BPE-style model): start from single characters; repeatedly merge the adjacent
// pair whose concatenation is a vocabulary token with the highest score (leftmost on ties);
// characters no token covers fall back to "<0xNN>" byte tokens.
// Byte-level BPE: start from single bytes; repeatedly merge the adjacent pair with the lowest
// merge rank (leftmost on ties). Both use a heap of candidate pairs with lazy invalidation, so a
// piece of n symbols costs O(n log n) even for pathological inputs (10 MB without a space).
#include <queue>
#include <vector>

#include "base/utf8.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace odlm {
namespace {

struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t start;  // byte offset in the text
  uint32_t len;    // bytes; 0 once merged into its left neighbour
};

struct SpmPair {
  float score;
  int32_t left;
  int32_t right;
  uint32_t len;  // bytes of the merged text, to detect stale entries
};
struct SpmOrder {
  bool operator()(const SpmPair& a, const SpmPair& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

struct BpePair {
  uint32_t rank;
  int32_t left;
  int32_t right;
  int32_t left_id;
  int32_t right_id;
};
struct BpeOrder {
  bool operator()(const BpePair& a, const BpePair& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::AppendBytesAsTokens(std::string_view bytes, std::vector<int32_t>* out) const {
  for (unsigned char b : bytes) {
    if (byte_token_[b] < 0) {
      // No byte fallback: the whole character becomes one unknown token (or is dropped).
      if (vocab_.unk_id >= 0) out->push_back(vocab_.unk_id);
      return;
    }
  }
  for (unsigned char b : bytes) out->push_back(byte_token_[b]);
}

void Tokenizer::EncodeSpm(std::string_view text, std::vector<int32_t>* out) const {
  if (!spm_split_at_space_) {
    EncodeSpmSegment(text, out);
    return;
  }
  // No token has "▁" after another character, so no merge can cross the start of a "▁" that
  // follows a non-"▁": the segments between such points merge independently, with the same
  // result as the whole text at once, in far less memory and time.
  constexpr std::string_view kSpace = "\xE2\x96\x81";
  size_t start = 0;
  for (size_t pos = text.find(kSpace, 1); pos != std::string_view::npos;
       pos = text.find(kSpace, pos + kSpace.size())) {
    if (pos >= kSpace.size() && text.compare(pos - kSpace.size(), kSpace.size(), kSpace) == 0) {
      continue;  // inside a run of "▁"
    }
    EncodeSpmSegment(text.substr(start, pos - start), out);
    start = pos;
  }
  EncodeSpmSegment(text.substr(start), out);
}

void Tokenizer::EncodeSpmSegment(std::string_view text, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  thread_local std::vector<Symbol> sym;
  sym.clear();
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    const size_t len = DecodeUtf8(text, pos, &cp);
    const auto idx = static_cast<int32_t>(sym.size());
    sym.push_back({idx - 1, idx + 1, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
    pos += len;
  }
  sym.back().next = -1;

  std::priority_queue<SpmPair, std::vector<SpmPair>, SpmOrder> heap;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t len = sym[left].len + sym[right].len;
    auto it = lookup_.find(text.substr(sym[left].start, len));
    if (it == lookup_.end()) return;
    const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[it->second];
    heap.push({score, left, right, len});
  };
  for (size_t i = 1; i < sym.size(); ++i)
    try_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!heap.empty()) {
    const SpmPair p = heap.top();
    heap.pop();
    Symbol& l = sym[p.left];
    Symbol& r = sym[p.right];
    if (l.len == 0 || r.len == 0 || l.next != p.right || l.len + r.len != p.len) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = p.left;
    try_pair(l.prev, p.left);
    try_pair(p.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].start, sym[i].len);
    auto it = lookup_.find(piece);
    if (it != lookup_.end()) {
      out->push_back(it->second);
    } else {
      AppendBytesAsTokens(piece, out);
    }
  }
}

void Tokenizer::EncodeBpePiece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.empty()) return;
  if (vocab_.ignore_merges || piece.size() == 1) {
    auto it = lookup_.find(piece);
    if (it != lookup_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  const size_t n = piece.size();
  std::vector<int32_t> id(n), prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    id[i] = byte_token_[static_cast<unsigned char>(piece[i])];
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  std::vector<bool> alive(n, true);
  std::priority_queue<BpePair, std::vector<BpePair>, BpeOrder> heap;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0 || id[left] < 0 || id[right] < 0) return;
    auto it =
        merges_.find((static_cast<uint64_t>(id[left]) << 32) | static_cast<uint32_t>(id[right]));
    if (it == merges_.end()) return;
    heap.push({static_cast<uint32_t>(it->second >> 32), left, right, id[left], id[right]});
  };
  for (size_t i = 1; i < n; ++i) try_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!heap.empty()) {
    const BpePair p = heap.top();
    heap.pop();
    if (!alive[p.left] || !alive[p.right] || next[p.left] != p.right || id[p.left] != p.left_id ||
        id[p.right] != p.right_id) {
      continue;
    }
    const uint64_t v =
        merges_.find((static_cast<uint64_t>(p.left_id) << 32) | static_cast<uint32_t>(p.right_id))
            ->second;
    id[p.left] = static_cast<int32_t>(v & 0xFFFFFFFFu);
    alive[p.right] = false;
    next[p.left] = next[p.right];
    if (next[p.right] >= 0) prev[next[p.right]] = p.left;
    try_pair(prev[p.left], p.left);
    try_pair(p.left, next[p.left]);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) {
    if (id[i] >= 0) {
      out->push_back(id[i]);
    } else if (vocab_.unk_id >= 0) {
      out->push_back(vocab_.unk_id);  // a byte the vocabulary has no token for
    }
  }
}

uint32_t ByteToUnicode(uint8_t b) {
  // Printable Latin-1 bytes stand for themselves; the other 68 map to U+0100.. in byte order.
  if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) return b;
  uint32_t k = 0;
  for (uint32_t c = 0; c < b; ++c) {
    if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE))) ++k;
  }
  return 0x100 + k;
}

std::string ByteToUnicodeText(uint8_t b) {
  std::string text;
  AppendUtf8(ByteToUnicode(b), &text);
  return text;
}

int32_t UnicodeToByte(uint32_t cp) {
  static const std::vector<int32_t> table = [] {
    std::vector<int32_t> t(0x144, -1);
    for (int b = 0; b < 256; ++b) t[ByteToUnicode(static_cast<uint8_t>(b))] = b;
    return t;
  }();
  return cp < table.size() ? table[cp] : -1;
}

}  // namespace odlm
