// base/ascii_test.cc — ASCII case folding leaves every other byte (UTF-8 included) alone.
#include "base/ascii.h"

#include <gtest/gtest.h>

namespace odlm {
namespace {

TEST(Ascii, LowerFoldsOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Q4_K_M and [AGENT]"), "q4_k_m and [agent]");
  EXPECT_EQ(AsciiLower("Ärger ÉTÉ"), "Ärger ÉtÉ");  // UTF-8 bytes untouched
  EXPECT_EQ(AsciiLower('@'), '@');
  EXPECT_EQ(AsciiLower('['), '[');
  static_assert(AsciiLower('Z') == 'z', "constexpr");
}

TEST(Ascii, StartsWithNoCase) {
  EXPECT_TRUE(AsciiStartsWithNoCase("AGENT: hi", "agent:"));
  EXPECT_FALSE(AsciiStartsWithNoCase("AG", "agent"));
  EXPECT_TRUE(AsciiStartsWithNoCase("anything", ""));
}

}  // namespace
}  // namespace odlm
