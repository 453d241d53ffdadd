// Pre-tokenizer and Unicode table unit tests on hand-checked cases. (pre_tokenizer_pcre_test.cc
// cross-checks against the real regexes.)
#include "tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include "tokenizer/unicode.h"

namespace odlm {
namespace {

std::vector<std::string> Split(PreTokenizerKind k, std::string_view s) {
  std::vector<std::string> out;
  for (std::string_view p : PreTokenize(k, s)) out.emplace_back(p);
  return out;
}

using V = std::vector<std::string>;

TEST(Unicode, CategoriesFromTheGeneratedTables) {
  EXPECT_STREQ(UnicodeVersion(), "15.0.0");
  EXPECT_EQ(GetUnicodeCategory('A'), UnicodeCategory::kLu);
  EXPECT_EQ(GetUnicodeCategory('z'), UnicodeCategory::kLl);
  EXPECT_EQ(GetUnicodeCategory(0x0663), UnicodeCategory::kNd);    // ARABIC-INDIC DIGIT THREE
  EXPECT_EQ(GetUnicodeCategory(0x4E00), UnicodeCategory::kLo);    // CJK
  EXPECT_EQ(GetUnicodeCategory(0x0301), UnicodeCategory::kMn);    // combining acute
  EXPECT_EQ(GetUnicodeCategory(0x1F999), UnicodeCategory::kSo);   // llama emoji
  EXPECT_EQ(GetUnicodeCategory(0x20000), UnicodeCategory::kLo);   // CJK Ext. B (a range)
  EXPECT_EQ(GetUnicodeCategory(0x0378), UnicodeCategory::kCn);    // unassigned
  EXPECT_EQ(GetUnicodeCategory(0x10FFFF), UnicodeCategory::kCn);  // noncharacter
  EXPECT_EQ(GetUnicodeCategory(0xE000), UnicodeCategory::kCo);
  EXPECT_EQ(GetUnicodeCategory('_'), UnicodeCategory::kPc);
  EXPECT_EQ(GetUnicodeCategory('$'), UnicodeCategory::kSc);
  EXPECT_TRUE(IsUnicodeWhiteSpace(0x3000));
  EXPECT_TRUE(IsUnicodeWhiteSpace(0x85));
  EXPECT_FALSE(IsUnicodeWhiteSpace(0x200B));  // ZERO WIDTH SPACE is Cf, not White_Space
  EXPECT_EQ(UnicodeFlags(0x2163) & kUniNumber, kUniNumber);  // ROMAN NUMERAL FOUR (Nl)
}

TEST(Unicode, Utf8Decoding) {
  uint32_t cp;
  EXPECT_EQ(DecodeUtf8("\xE2\x82\xAC", 0, &cp), 3u);
  EXPECT_EQ(cp, 0x20ACu);
  EXPECT_EQ(DecodeUtf8("\xC0\x80", 0, &cp), 1u);  // overlong
  EXPECT_EQ(cp, kInvalidUtf8);
  EXPECT_EQ(DecodeUtf8("\xED\xA0\x80", 0, &cp), 1u);  // surrogate
  EXPECT_EQ(cp, kInvalidUtf8);
  EXPECT_EQ(DecodeUtf8("\xF0\x9F", 0, &cp), 1u);  // truncated
  EXPECT_EQ(cp, kInvalidUtf8);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xE2\x82"), 2u);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xE2\x82\xAC"), 5u);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xFF"), 3u);  // never valid: not held back
  EXPECT_EQ(CompleteUtf8Prefix("ab\xC0"), 3u);  // overlong lead: never valid
  EXPECT_EQ(CompleteUtf8Prefix("ab\xF0\x9F\x98"), 2u);
}

TEST(PreTokenizer, Llama3) {
  const auto k = PreTokenizerKind::kLlama3;
  EXPECT_EQ(Split(k, "Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(Split(k, "I'M here, it's 12345!!\n\n  x  "),
            (V{"I", "'M", " here", ",", " it", "'s", " ", "123", "45", "!!\n\n", " ", " x", "  "}));
  EXPECT_EQ(Split(k, "a  \n\n b"), (V{"a", "  \n\n", " b"}));
  EXPECT_EQ(Split(k, "\t\tx"), (V{"\t", "\tx"}));
  EXPECT_EQ(Split(k, ""), V{});
}

TEST(PreTokenizer, Qwen2SplitsSingleDigits) {
  EXPECT_EQ(Split(PreTokenizerKind::kQwen2, "x 2024"), (V{"x", " ", "2", "0", "2", "4"}));
}

TEST(PreTokenizer, Gpt2) {
  const auto k = PreTokenizerKind::kGpt2;
  EXPECT_EQ(Split(k, "I'M here 2024?!  ok"),
            (V{"I", "'", "M", " here", " 2024", "?!", " ", " ok"}));
  EXPECT_EQ(Split(k, "it's"), (V{"it", "'s"}));
}

TEST(PreTokenizer, StarcoderSplitsDigitsFirst) {
  EXPECT_EQ(Split(PreTokenizerKind::kStarcoder, "v 12 x"), (V{"v", " ", "1", "2", " x"}));
}

TEST(PreTokenizer, Falcon) {
  EXPECT_EQ(Split(PreTokenizerKind::kFalcon, "a+=b 12345"), (V{"a", "+=", "b", " ", "123", "45"}));
}

TEST(PreTokenizer, Deepseek) {
  EXPECT_EQ(Split(PreTokenizerKind::kDeepseekCoder, "def f(x):\n  return 42"),
            (V{"def", " f", "(", "x", "):", "\n", " ", " return", " ", "4", "2"}));
  EXPECT_EQ(Split(PreTokenizerKind::kDeepseekLlm, "Hi 你好 123  "),
            (V{"Hi", " ", "你好", " ", "123", "  "}));
}

TEST(PreTokenizer, PiecesCoverInvalidUtf8Exactly) {
  const std::string bad("a\xFF\xC3 b\xE2\x82", 7);
  for (auto k : {PreTokenizerKind::kLlama3, PreTokenizerKind::kGpt2, PreTokenizerKind::kFalcon,
                 PreTokenizerKind::kDeepseekLlm}) {
    std::string joined;
    for (std::string_view p : PreTokenize(k, bad)) joined += p;
    EXPECT_EQ(joined, bad);
  }
}

TEST(PreTokenizer, Names) {
  EXPECT_EQ(*PreTokenizerFromName("llama-bpe"), PreTokenizerKind::kLlama3);
  EXPECT_EQ(*PreTokenizerFromName("smollm"), PreTokenizerKind::kStarcoder);
  EXPECT_EQ(*PreTokenizerFromName("refact"), PreTokenizerKind::kStarcoder);
  EXPECT_EQ(*PreTokenizerFromName("mpt"), PreTokenizerKind::kGpt2);
  auto bad = PreTokenizerFromName("bloom");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("qwen2"), std::string::npos);
}

}  // namespace
}  // namespace odlm
