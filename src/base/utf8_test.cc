#include "base/utf8.h"

#include <gtest/gtest.h>

namespace odlm {
namespace {

TEST(Utf8Test, DecodesShortestFormsAndRejectsTheRest) {
  uint32_t cp;
  EXPECT_EQ(DecodeUtf8("\xC3\xA9", 0, &cp), 2u);
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98\x80", 0, &cp), 4u);
  EXPECT_EQ(cp, 0x1F600u);
  for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80", "\xC3"}) {
    EXPECT_EQ(DecodeUtf8(bad, 0, &cp), 1u) << bad;
    EXPECT_EQ(cp, kInvalidUtf8);
  }
}

TEST(Utf8Test, EncodeRoundTripsAndSanitizes) {
  for (uint32_t c : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) {
    std::string s;
    AppendUtf8(c, &s);
    uint32_t back;
    EXPECT_EQ(DecodeUtf8(s, 0, &back), s.size());
    EXPECT_EQ(back, c);
  }
  std::string sur;
  AppendUtf8(0xD800, &sur);
  EXPECT_EQ(sur, "\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo"));
  EXPECT_FALSE(IsValidUtf8("h\xC3llo"));
  EXPECT_EQ(SanitizeUtf8("a\xC3"
                         "b\x80"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("\xE2\x82\xAC"), "\xE2\x82\xAC");
}

TEST(Utf8Test, CompletePrefixHoldsBackOnlyWhatCanStillBecomeValid) {
  EXPECT_EQ(CompleteUtf8Prefix("ab\xE2\x82"), 2u);  // a euro sign cut after two bytes
  EXPECT_EQ(CompleteUtf8Prefix("ab\xE2\x82\xAC"), 5u);
  EXPECT_EQ(CompleteUtf8Prefix("ab\xC0"), 3u);  // an overlong lead never completes
  EXPECT_EQ(CompleteUtf8Prefix(""), 0u);
}

}  // namespace
}  // namespace odlm
