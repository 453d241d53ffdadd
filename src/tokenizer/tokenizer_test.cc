// Unit tests of the tokenizers on small vocabularies built in code: merge order, byte fallback,
// the space prefix, special tokens, hostile input, streaming decode.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tokenizer/streaming_decoder.h"
#include "tokenizer/test_vocabs.h"
#include "tokenizer/unicode.h"

namespace odlm {
namespace {

using testing::MakeBpeVocab;
using testing::MakeSpmVocab;

constexpr int32_t kSpmFirst = 259;  // first piece id after <unk> <s> </s> and 256 bytes

std::unique_ptr<Tokenizer> SpmTokenizer() {
  // ids: 259 ▁ 260 h 261 e 262 l 263 o 264 w 265 r 266 d 267 ll 268 he 269 hell 270 hello
  //      271 ▁hello 272 ▁w 273 or 274 ▁wor 275 ld 276 ▁world  (scores fall in this order, but the
  //      single characters never compete: only pairs are merged)
  std::vector<std::string> pieces = {"▁",      "h",  "e",  "l",    "o",    "w",
                                     "r",      "d",  "ll", "he",   "hell", "hello",
                                     "▁hello", "▁w", "or", "▁wor", "ld",   "▁world"};
  auto t = Tokenizer::FromVocab(MakeSpmVocab(pieces));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

std::unique_ptr<Tokenizer> BpeTokenizer(PreTokenizerKind pre = PreTokenizerKind::kGpt2) {
  // ids: 0..255 bytes, 256 ll, 257 he, 258 hell, 259 hello, 260 " h", 261 " hello"
  auto t = Tokenizer::FromVocab(MakeBpeVocab(
      {{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}, {" ", "h"}, {" ", "hello"}}, pre));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

TEST(SpmTokenizer, MergesByScoreWithSpacePrefix) {
  auto tok = SpmTokenizer();
  EXPECT_EQ(tok->Encode("hello world", false, false),
            (std::vector<int32_t>{kSpmFirst + 12, kSpmFirst + 17}));
  EXPECT_EQ(tok->Encode("hello world", true, false),
            (std::vector<int32_t>{1, kSpmFirst + 12, kSpmFirst + 17}));
  // "hell" + "o" outranks nothing else here; "▁" stays alone before "hell".
  EXPECT_EQ(tok->Encode("hellx", false, false),
            (std::vector<int32_t>{kSpmFirst, kSpmFirst + 10, 3 + 'x'}));
}

TEST(SpmTokenizer, ByteFallbackAndExactDecode) {
  auto tok = SpmTokenizer();
  const std::vector<int32_t> ids = tok->Encode("hé", false, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{kSpmFirst, kSpmFirst + 1, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok->Decode(ids), "hé");
  EXPECT_EQ(tok->Decode(tok->Encode(" two  spaces ", true, false)), " two  spaces ");
  EXPECT_EQ(tok->TokenPiece(kSpmFirst + 12), " hello");
  EXPECT_EQ(tok->TokenPiece(3 + '\n'), "\n");
}

TEST(SpmTokenizer, EmptyInputGivesNoTokens) {
  auto tok = SpmTokenizer();
  EXPECT_TRUE(tok->Encode("", false, false).empty());
  EXPECT_EQ(tok->Encode("", true, false), std::vector<int32_t>{1});
  EXPECT_EQ(tok->Decode({}), "");
}

TEST(SpmTokenizer, SpecialTokensOnlyWhenAsked) {
  auto tok = SpmTokenizer();
  const std::vector<int32_t> plain = tok->Encode("<s>hello", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0);
  EXPECT_EQ(tok->Decode(plain), "<s>hello");
  // Parsed: <s>, then "▁hello" (a space prefix follows a special token).
  EXPECT_EQ(tok->Encode("<s>hello", false, true), (std::vector<int32_t>{1, kSpmFirst + 12}));
  // Decode undoes the space prefix after a special token too, so parsed text round-trips.
  EXPECT_EQ(tok->Decode({1, kSpmFirst + 12}, /*render_special=*/true), "<s>hello");
  EXPECT_EQ(tok->Decode(tok->Encode("a<s> b</s>", true, true), true), "<s>a<s> b</s>");
  EXPECT_EQ(tok->Decode({1, kSpmFirst + 12}), "hello");
}

TEST(SpmTokenizer, EncodeSegmentsJoinsRawTextAcrossBoundaries) {
  auto tok = SpmTokenizer();
  // "he" + "llo world" merge as one stretch: the same ids as the whole string, one space prefix.
  const std::vector<TextSegment> split = {{"he", true}, {"llo", false}, {" world", true}};
  EXPECT_EQ(tok->EncodeSegments(split, true), tok->Encode("hello world", true, true));
  EXPECT_EQ(tok->EncodeSegments(split, true),
            (std::vector<int32_t>{1, kSpmFirst + 12, kSpmFirst + 17}));
  // A special text in a plain segment stays text; in a parsed one it is the token.
  const std::vector<int32_t> ids =
      tok->EncodeSegments({{"<s>", true}, {"hello</s>", false}, {"</s>", true}}, false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
  EXPECT_EQ(ids.back(), 2);
  EXPECT_EQ(tok->Decode(ids, /*render_special=*/true), "<s>hello</s></s>");
  // A special text split over two segments is never matched, even if both are parsed.
  const std::vector<int32_t> halves = tok->EncodeSegments({{"<", true}, {"s>", true}}, false);
  EXPECT_EQ(std::count(halves.begin(), halves.end(), 1), 0);
  EXPECT_TRUE(tok->EncodeSegments({}, false).empty());
  EXPECT_EQ(tok->EncodeSegments({{"", false}}, true), std::vector<int32_t>{1});
}

TEST(BpeTokenizer, MergesByRankNotLeftToRight) {
  auto tok = BpeTokenizer();
  // " hello": "h e" (rank 1) beats " h" (rank 4), so the result is " hello" via rank 5.
  EXPECT_EQ(tok->Encode("hello hello", false, false), (std::vector<int32_t>{259, 261}));
  EXPECT_EQ(tok->Encode("hellx", false, false), (std::vector<int32_t>{258, 'x'}));
  EXPECT_EQ(tok->Encode(" h", false, false), (std::vector<int32_t>{260}));
  EXPECT_EQ(tok->Decode({259, 261}), "hello hello");
  EXPECT_EQ(tok->TokenPiece(261), " hello");
  EXPECT_EQ(tok->TokenText(261), "\xC4\xA0hello");  // "Ġhello"
}

TEST(BpeTokenizer, ControlTokensAndEndOfGeneration) {
  auto tok = BpeTokenizer();
  const int32_t im_start = tok->FindToken("<|im_start|>");
  const int32_t im_end = tok->FindToken("<|im_end|>");
  ASSERT_GE(im_start, 0);
  EXPECT_EQ(tok->Encode("<|im_start|>hello<|im_end|>", false, true),
            (std::vector<int32_t>{im_start, 259, im_end}));
  const std::vector<int32_t> plain = tok->Encode("<|im_start|>", false, false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok->Decode(plain), "<|im_start|>");
  EXPECT_TRUE(tok->IsEndOfGeneration(im_end));
  EXPECT_TRUE(tok->IsEndOfGeneration(tok->eos_id()));
  EXPECT_FALSE(tok->IsEndOfGeneration(im_start));
  EXPECT_FALSE(tok->IsEndOfGeneration(259));
}

std::string RandomUtf8(std::mt19937& rng, size_t n_chars) {
  std::string s;
  std::uniform_int_distribution<int> kind(0, 9);
  for (size_t i = 0; i < n_chars; ++i) {
    uint32_t cp;
    switch (kind(rng)) {
      case 0:
        cp = std::uniform_int_distribution<uint32_t>(0x80, 0x7FF)(rng);
        break;
      case 1:
        cp = std::uniform_int_distribution<uint32_t>(0x800, 0xD7FF)(rng);
        break;
      case 2:
        cp = std::uniform_int_distribution<uint32_t>(0x10000, 0x10FFFF)(rng);
        break;
      case 3:
        cp = " \t\n\r"[std::uniform_int_distribution<int>(0, 3)(rng)];
        break;
      default:
        cp = std::uniform_int_distribution<uint32_t>(0x20, 0x7E)(rng);
        break;
    }
    AppendUtf8(cp, &s);
  }
  return s;
}

TEST(Tokenizers, RandomUtf8RoundTrips) {
  std::mt19937 rng(7);
  auto spm = SpmTokenizer();
  std::vector<std::unique_ptr<Tokenizer>> bpes;
  for (auto k : {PreTokenizerKind::kLlama3, PreTokenizerKind::kQwen2, PreTokenizerKind::kGpt2,
                 PreTokenizerKind::kStarcoder, PreTokenizerKind::kFalcon,
                 PreTokenizerKind::kDeepseekLlm, PreTokenizerKind::kDeepseekCoder}) {
    bpes.push_back(BpeTokenizer(k));
  }
  for (int iter = 0; iter < 200; ++iter) {
    const std::string s = RandomUtf8(rng, 1 + iter % 50);
    EXPECT_EQ(spm->Decode(spm->Encode(s, true, false)), s);
    for (const auto& bpe : bpes) EXPECT_EQ(bpe->Decode(bpe->Encode(s, false, false)), s);
  }
}

TEST(Tokenizers, InvalidUtf8IsEncodedByteExactly) {
  const std::string bad = std::string("ok\xFF\xC3(\xE2\x82 \xED\xA0\x80 end\xF0", 17);
  auto spm = SpmTokenizer();
  auto bpe = BpeTokenizer(PreTokenizerKind::kLlama3);
  EXPECT_EQ(spm->Decode(spm->Encode(bad, true, false)), bad);
  EXPECT_EQ(bpe->Decode(bpe->Encode(bad, false, false)), bad);
}

TEST(Tokenizers, TenMegabyteInputs) {
  std::string big;
  big.reserve(10 << 20);
  const std::string words = "hello world, the <s> <|im_start|> 12345 héllo\n";
  while (big.size() < (10u << 20)) big += words;
  auto spm = SpmTokenizer();
  auto bpe = BpeTokenizer(PreTokenizerKind::kLlama3);
  const std::vector<int32_t> a = spm->Encode(big, true, true);
  EXPECT_GT(a.size(), big.size() / 10);
  const std::vector<int32_t> b = bpe->Encode(big, false, false);
  EXPECT_EQ(bpe->Decode(b), big);
  // One 10 MB "word" without a space: merging stays O(n log n).
  const std::string same(10u << 20, 'l');
  const std::vector<int32_t> c = bpe->Encode(same, false, false);
  EXPECT_EQ(c.size(), same.size() / 2);
  EXPECT_EQ(bpe->Decode(c), same);
}

TEST(Tokenizers, SpecialTokenLookalikes) {
  const std::string text = "<s<s>></s><<|im_start|<|im_end|>|><|im_start||><s ><unk><0x41>";
  auto spm = SpmTokenizer();
  auto bpe = BpeTokenizer();
  for (bool parse : {false, true}) {
    EXPECT_EQ(spm->Decode(spm->Encode(text, false, parse), /*render_special=*/true).size() > 0,
              true);
    EXPECT_EQ(bpe->Decode(bpe->Encode(text, false, parse), /*render_special=*/true), text);
  }
  // Not parsing: every lookalike is plain text and round-trips exactly.
  EXPECT_EQ(spm->Decode(spm->Encode(text, true, false)), text);
  const std::vector<int32_t> parsed = spm->Encode(text, false, true);
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), 1), 1);  // the one real "<s>"
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), 2), 1);  // "</s>"
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), 0), 1);  // "<unk>"
}

TEST(StreamingDecoder, HoldsBackSplitCharacters) {
  auto tok = SpmTokenizer();
  // "▁hello" then "é" as two byte tokens, then "€" as three.
  const std::vector<int32_t> ids = {1,        kSpmFirst + 12, 3 + 0xC3, 3 + 0xA9,
                                    3 + 0xE2, 3 + 0x82,       3 + 0xAC};
  StreamingDecoder dec(*tok);
  std::vector<std::string> outs;
  for (int32_t id : ids) outs.push_back(dec.Push(id));
  EXPECT_EQ(outs, (std::vector<std::string>{"", "hello", "", "é", "", "", "€"}));
  EXPECT_EQ(dec.Flush(), "");
  EXPECT_EQ(tok->Decode(ids), "helloé€");
}

TEST(StreamingDecoder, ConcatenationEqualsDecode) {
  std::mt19937 rng(11);
  auto spm = SpmTokenizer();
  auto bpe = BpeTokenizer(PreTokenizerKind::kQwen2);
  for (int iter = 0; iter < 100; ++iter) {
    const std::string s = RandomUtf8(rng, 1 + iter % 30);
    for (Tokenizer* tok : {spm.get(), bpe.get()}) {
      const std::vector<int32_t> ids = tok->Encode(s, true, false);
      StreamingDecoder dec(*tok);
      std::string all;
      for (int32_t id : ids) {
        const std::string part = dec.Push(id);
        EXPECT_TRUE(IsValidUtf8(part)) << "a piece of '" << s << "' was cut";
        all += part;
      }
      all += dec.Flush();
      EXPECT_EQ(all, s);
    }
  }
  // A continuation keeps the leading space.
  StreamingDecoder cont(*spm, /*at_sequence_start=*/false);
  EXPECT_EQ(cont.Push(kSpmFirst + 17), " world");
}

TEST(Tokenizer, RejectsBadVocabularies) {
  Vocab v = MakeSpmVocab({"a"});
  v.scores.pop_back();
  EXPECT_FALSE(Tokenizer::FromVocab(v).ok());
  Vocab w = MakeSpmVocab({"a"});
  w.bos_id = 100000;
  EXPECT_FALSE(Tokenizer::FromVocab(w).ok());
  Vocab b = MakeBpeVocab({{"a", "b"}});
  b.merges.push_back("nospace");
  EXPECT_FALSE(Tokenizer::FromVocab(b).ok());
  EXPECT_FALSE(Tokenizer::FromVocab(Vocab{}).ok());
}

}  // namespace
}  // namespace odlm
