// base/hash_test.cc — the shared hashes give the published reference values (SplitMix64's first
// outputs for seed 0, FNV-1a 64 test vectors), so every seeded result built on them is pinned.
#include "base/hash.h"

#include <gtest/gtest.h>

namespace odlm {
namespace {

TEST(Hash, SplitMix64MatchesTheReferenceSequence) {
  // Vigna's splitmix64.c with x = 0: the first three outputs.
  SplitMix64Stream s{0};
  EXPECT_EQ(s.Next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(s.Next(), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(s.Next(), 0x06c45d188009454full);
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafull);
  EXPECT_EQ(Mix64(0), 0u);
  EXPECT_EQ(Mix64(1), 0x5692161d100b05e5ull);
  static_assert(SplitMix64(0) == 0xe220a8397b1dcdafull, "constexpr");
}

TEST(Hash, Fnv1a64MatchesTheReferenceVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
  // Bytes past 0x7f hash as unsigned.
  EXPECT_EQ(Fnv1a64("\xff"), (0xcbf29ce484222325ull ^ 0xffull) * 0x100000001b3ull);
}

}  // namespace
}  // namespace odlm
