// gguf/json_lite_test.cc — the core's small JSON reader.
#include "gguf/json_lite.h"

#include <gtest/gtest.h>

namespace odlm {
namespace {

TEST(JsonLiteTest, ParsesEveryKind) {
  auto v = ParseJson(R"( {"a": [1, -2.5e3, true, false, null], "s": "x\"\u00e9\ud83d\ude00",
                          "big": 18446744073709551615, "o": {}} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->is_object());
  const JsonValue* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items().size(), 5u);
  int64_t one = 0;
  EXPECT_TRUE(a->items()[0].ToInt64(&one));
  EXPECT_EQ(one, 1);
  EXPECT_DOUBLE_EQ(a->items()[1].number(), -2500.0);
  int64_t unused;
  EXPECT_FALSE(a->items()[1].ToInt64(&unused));
  EXPECT_TRUE(a->items()[2].boolean());
  EXPECT_FALSE(a->items()[3].boolean());
  EXPECT_TRUE(a->items()[4].is_null());
  EXPECT_EQ(v->Find("s")->str(), "x\"\xC3\xA9\xF0\x9F\x98\x80");
  uint64_t big = 0;
  EXPECT_TRUE(v->Find("big")->ToUInt64(&big));
  EXPECT_EQ(big, 18446744073709551615ull);
  EXPECT_TRUE(v->Find("o")->members().empty());
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonLiteTest, RejectsMalformedInputNamingTheOffset) {
  const char* bad[] = {"",    "{",           "{\"a\" 1}",         "[1,]",     "{\"a\":1,}",
                       "01",  "1.",          "\"unterminated",    "\"\\x\"",  "[1] 2",
                       "tru", "\"\\ud800\"", "{\"a\":1,\"a\":2}", "\"a\nb\"", "-"};
  for (const char* s : bad) {
    auto v = ParseJson(s);
    EXPECT_FALSE(v.ok()) << s;
    if (!v.ok()) {
      EXPECT_NE(v.status().message().find("at byte"), std::string::npos) << s;
    }
  }
  EXPECT_FALSE(ParseJson(std::string(100, '[') + std::string(100, ']')).ok());  // too deep
  auto big = ParseJson("18446744073709551616");
  ASSERT_TRUE(big.ok());
  uint64_t u;
  EXPECT_FALSE(big->ToUInt64(&u));  // overflow is reported, not wrapped
}

TEST(JsonLiteTest, FindsNestingOverTheLimitWithoutParsing) {
  constexpr size_t kNone = std::string_view::npos;
  EXPECT_EQ(FindJsonNestingOver(R"({"a": [1, {"b": [2]}]})", 4), kNone);
  EXPECT_EQ(FindJsonNestingOver(R"({"a": [1, {"b": [2]}]})", 3), 16u);
  // Brackets inside strings (with escaped quotes) and, when asked, comments do not count.
  EXPECT_EQ(FindJsonNestingOver(R"(["[[[\"[[[", "{{"])", 1), kNone);
  EXPECT_EQ(FindJsonNestingOver("[ // [[[\n /* {{{ */ 1]", 1, /*comments=*/true), kNone);
  EXPECT_NE(FindJsonNestingOver("[ // [[[\n 1]", 1, /*comments=*/false), kNone);
  // Deep input is found at its first level too many, in one pass (no recursion).
  const std::string deep = std::string(400000, '[') + std::string(400000, ']');
  EXPECT_EQ(FindJsonNestingOver(deep, kMaxJsonNesting), static_cast<size_t>(kMaxJsonNesting));
  // Malformed or truncated text is scanned as far as it goes.
  EXPECT_EQ(FindJsonNestingOver("[[[", 2), 2u);
  EXPECT_EQ(FindJsonNestingOver("\"[[[", 0), kNone);
}

}  // namespace
}  // namespace odlm
