// codi/seeds_test.cc — seed examples from a file, merged into a graph before validation.
#include "codi/seeds.h"

#include <gtest/gtest.h>

#include <fstream>

#include "codi/graph.h"
#include "codi/test_util.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

TEST(SeedsTest, LoadsNamedAndUnnamedExamples) {
  testing::TempDir dir;
  const std::string p = dir.file("seeds.jsonl");
  std::ofstream(p) << "{\"link\": \"q\", \"text\": \"Who owned it?\"}\n\n"
                      "{\"text\": \"And then?\"}\n{\"link\": \"*\", \"text\": \"Why?\"}\n";
  auto seeds = LoadSeedExamples(p);
  ASSERT_TRUE(seeds.ok()) << seeds.status().ToString();
  ASSERT_EQ(seeds->size(), 3u);
  EXPECT_EQ((*seeds)[0].link, "q");
  EXPECT_EQ((*seeds)[1].link, "");
  EXPECT_EQ((*seeds)[2].link, "");
  std::ofstream(p) << "{\"link\": \"q\"}\n";
  EXPECT_NE(LoadSeedExamples(p).status().message().find(":1: \"text\" must be"), std::string::npos);
  std::ofstream(p) << "{\"link\": 3, \"text\": \"x\"}\n";
  EXPECT_NE(LoadSeedExamples(p).status().message().find(":1: \"link\" must be"), std::string::npos);
  std::ofstream(p) << "[1]\n";
  EXPECT_NE(LoadSeedExamples(p).status().message().find("not a JSON object"), std::string::npos);
  std::ofstream(p) << "\n";
  EXPECT_FALSE(LoadSeedExamples(p).ok());
}

TEST(SeedsTest, FileExamplesJoinTheGraphsAndAreDrawnPerTurn) {
  json j = testing::QaGraphJson();
  j["links"]["q"].erase("seeds");    // every seed of "q" comes from the file
  EXPECT_FALSE(ParseGraph(j).ok());  // {seed_examples} without seeds
  std::vector<SeedExample> seeds;
  for (int i = 0; i < 20; ++i) seeds.push_back({"q", "File example " + std::to_string(i) + "?"});
  ASSERT_TRUE(AddSeedExamples(seeds, &j).ok());
  auto g = ParseGraph(j);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const Link& q = g->links[g->LinkId("q")];
  EXPECT_EQ(q.seeds.size(), 20u);
  // Prompts of different conversations show different file examples.
  std::set<std::string> shown;
  const auto docs = testing::TestDocs();
  for (uint64_t index = 0; index < 30; ++index) {
    const Walk w = SampleWalk(*g, 3, index);
    const std::string prompt = BuildPrompt(*g, docs[0], w, {}, 1, 3, index);
    for (int i = 0; i < 20; ++i) {
      const std::string s = "File example " + std::to_string(i) + "?";
      if (prompt.find(s) != std::string::npos) shown.insert(s);
    }
  }
  EXPECT_GE(shown.size(), 15u);
}

TEST(SeedsTest, ExamplesForMissingOrSeedlessLinksAreRefused) {
  const json original = testing::QaGraphJson();
  json j = original;
  EXPECT_NE(AddSeedExamples({{"nope", "x"}}, &j).message().find("'nope', which the graph does not"),
            std::string::npos);
  EXPECT_NE(AddSeedExamples({{"a", "x"}}, &j).message().find("no {seed_examples} slot"),
            std::string::npos);
  EXPECT_EQ(j, original);  // unchanged on error
  // Unnamed examples go to every link that asks for seeds ("q" only here).
  ASSERT_TRUE(AddSeedExamples({{"", "Shared?"}}, &j).ok());
  EXPECT_EQ(j["links"]["q"]["seeds"].back(), "Shared?");
  EXPECT_FALSE(j["links"]["a"].contains("seeds"));
  json no_slot = original;
  no_slot["links"]["q"]["template"] = "Document:\n{document}\nAsk.";
  no_slot["links"]["q"].erase("seeds");
  no_slot["links"]["q"].erase("n_seeds");
  EXPECT_NE(AddSeedExamples({{"", "x"}}, &no_slot).message().find("no link's template"),
            std::string::npos);
}

}  // namespace
}  // namespace odlm::codi
