// tokenizer/test_vocabs.h — small vocabularies built in code, for tests and benchmarks.
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace odlm::testing {

// A SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens (ids 3..258), then `pieces` in
// order with scores -1, -2, … (so earlier pieces merge first).
inline Vocab MakeSpmVocab(const std::vector<std::string>& pieces) {
  Vocab v;
  v.model = VocabModel::kSpm;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  v.scores = {0, 0, 0};
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.types.push_back(TokenType::kByte);
    v.scores.push_back(0);
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    v.tokens.push_back(pieces[i]);
    v.types.push_back(TokenType::kNormal);
    v.scores.push_back(-1.0f - static_cast<float>(i));
  }
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return v;
}

// Raw bytes written in the byte-level BPE alphabet (the GPT-2 byte-to-unicode mapping).
inline std::string BpeText(const std::string& raw) {
  std::string out;
  for (unsigned char c : raw) AppendUtf8(ByteToUnicode(c), &out);
  return out;
}

// A byte-level BPE vocabulary: the 256 byte tokens (id = byte), then one token per merge result
// in merge order, then the control tokens "<|bos|>", "<|eos|>", "<|im_start|>", "<|im_end|>".
// `merges` are pairs of raw byte strings, in rank order.
inline Vocab MakeBpeVocab(const std::vector<std::pair<std::string, std::string>>& merges,
                          PreTokenizerKind pre = PreTokenizerKind::kGpt2) {
  Vocab v;
  v.model = VocabModel::kBpe;
  v.pre = pre;
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(BpeText(std::string(1, static_cast<char>(b))));
    v.types.push_back(TokenType::kNormal);
  }
  for (const auto& [l, r] : merges) {
    v.merges.push_back(BpeText(l) + " " + BpeText(r));
    const std::string merged = BpeText(l + r);
    bool have = false;
    for (const std::string& t : v.tokens) have = have || t == merged;
    if (!have) {
      v.tokens.push_back(merged);
      v.types.push_back(TokenType::kNormal);
    }
  }
  for (const char* s : {"<|bos|>", "<|eos|>", "<|im_start|>", "<|im_end|>"}) {
    v.tokens.push_back(s);
    v.types.push_back(TokenType::kControl);
  }
  v.bos_id = v.size() - 4;
  v.eos_id = v.size() - 3;
  v.add_bos = false;
  v.add_space_prefix = false;
  return v;
}

}  // namespace odlm::testing
