// codi/near_duplicates_test.cc — MinHash/LSH near-duplicates and distinct-n.
#include "codi/near_duplicates.h"

#include <gtest/gtest.h>

#include <string>

#include "base/hash.h"

namespace odlm::codi {
namespace {

std::string RandomText(uint64_t seed, int words) {
  static const char* kWords[] = {"mill",   "river",   "bridge", "wheat",  "train",
                                 "coast",  "harbour", "tower",  "market", "winter",
                                 "summer", "stone",   "garden", "lamp",   "boat",
                                 "road",   "hill",    "field",  "forest", "castle"};
  SplitMix64Stream rng{seed};
  std::string s;
  for (int i = 0; i < words; ++i) s += std::string(kWords[rng.Next() % 20]) + " ";
  return s;
}

TEST(NearDuplicatesTest, FindsCopiesAndSmallEditsButNotOtherTexts) {
  NearDuplicateIndex index;
  const std::string base = RandomText(1, 60);
  EXPECT_EQ(index.Add(base), -1);
  EXPECT_EQ(index.Add(RandomText(2, 60)), -1);
  EXPECT_EQ(index.Add(base), 0);  // an exact copy
  // Case and punctuation do not matter; one word changed in 60 keeps Jaccard ≈ 0.9.
  std::string edited = base;
  edited.replace(0, edited.find(' '), "Lighthouse,");
  EXPECT_EQ(index.Add(edited), 0);
  // Independent random texts over the same small vocabulary are not duplicates.
  int false_positives = 0;
  for (uint64_t seed = 10; seed < 200; ++seed)
    false_positives += index.Add(RandomText(seed, 60)) >= 0;
  EXPECT_EQ(false_positives, 0);
  EXPECT_EQ(index.Add(""), -1);  // no words: never a duplicate
  EXPECT_EQ(index.Add(""), -1);
}

TEST(NearDuplicatesTest, HalfChangedIsNotADuplicateAtTheDefaultThreshold) {
  NearDuplicateIndex index;
  const std::string a = RandomText(5, 40) + RandomText(6, 40);
  const std::string b = RandomText(5, 40) + RandomText(7, 40);
  EXPECT_EQ(index.Add(a), -1);
  EXPECT_EQ(index.Add(b), -1);
}

TEST(NearDuplicatesTest, SignatureIsDeterministicAndOrderSensitiveOnlyThroughShingles) {
  EXPECT_EQ(MinHashSignature("the old mill by the river"),
            MinHashSignature("The OLD mill, by the river!"));
  EXPECT_EQ(MinHashSignature("the old mill").size(), size_t{NearDuplicateIndex::kHashes});
  EXPECT_NE(MinHashSignature("the old mill"), MinHashSignature("mill old the"));
  EXPECT_TRUE(MinHashSignature("  ?! ").empty());
}

TEST(NearDuplicatesTest, DistinctN) {
  DistinctCounter one(1), two(2);
  for (const char* t : {"When was it built?", "When was it sold?", "Why?"}) {
    one.Add(t);
    two.Add(t);
  }
  EXPECT_EQ(one.result().ngrams, 9u);
  EXPECT_EQ(one.result().distinct, 6u);  // when was it built sold why
  EXPECT_EQ(two.result().ngrams, 6u);    // "Why?" has no bigram
  EXPECT_EQ(two.result().distinct, 4u);  // when-was was-it it-built it-sold
  EXPECT_NEAR(two.result().ratio(), 4.0 / 6, 1e-12);
  EXPECT_EQ(DistinctCounter(2).result().ratio(), 0.0);
}

}  // namespace
}  // namespace odlm::codi
