// codi/documents_test.cc — JSONL documents, text/Markdown corpora and their passages.
#include "codi/documents.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "codi/test_util.h"

namespace odlm::codi {
namespace {

TEST(DocumentsTest, JsonlLoadsAndRejectsBadLines) {
  testing::TempDir dir;
  const std::string p = dir.file("docs.jsonl");
  std::ofstream(p) << "{\"id\": \"a\", \"text\": \"x\"}\n\n{\"id\": 7, \"text\": \"y\"}\n";
  auto docs = LoadDocuments(p);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ((*docs)[1].id, "7");
  std::ofstream(p) << "{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"a\", \"text\": \"y\"}\n";
  EXPECT_NE(LoadDocuments(p).status().message().find(":2: duplicate document id 'a'"),
            std::string::npos);
  std::ofstream(p) << "{\"id\": \"a\"}\n";
  EXPECT_NE(LoadDocuments(p).status().message().find(":1: \"text\" must be"), std::string::npos);
  std::ofstream(p) << "not json\n";
  EXPECT_NE(LoadDocuments(p).status().message().find(":1: not a JSON object"), std::string::npos);
  std::ofstream(p) << "";
  EXPECT_FALSE(LoadDocuments(p).ok());
}

TEST(DocumentsTest, PassagesPackParagraphsAndNeverExceedTheSize) {
  const std::string text = "First one.\nStill first.\n\n\nSecond paragraph here.\n\nThird.";
  EXPECT_EQ(
      SplitPassages(text, 1000),
      (std::vector<std::string>{"First one.\nStill first.\n\nSecond paragraph here.\n\nThird."}));
  // Too small for two paragraphs together: one passage each.
  EXPECT_EQ(
      SplitPassages(text, 24),
      (std::vector<std::string>{"First one.\nStill first.", "Second paragraph here.", "Third."}));
  // A long paragraph is cut at sentence ends, a long sentence at spaces, a long word anywhere but
  // inside a UTF-8 character.
  const std::string para =
      "Alpha beta gamma. Delta epsilon! Zeta eta theta iota kappa lambda mu? Nu.";
  for (size_t max : {16u, 20u, 33u, 50u}) {
    const auto passages = SplitPassages(para, max);
    std::string joined;
    for (const std::string& p : passages) {
      EXPECT_LE(p.size(), max) << p;
      EXPECT_FALSE(p.empty());
      joined += (joined.empty() ? "" : " ") + p;
    }
    EXPECT_EQ(joined, para) << max;  // nothing lost or reordered
  }
  EXPECT_EQ(SplitPassages(para, 33)[0], "Alpha beta gamma. Delta epsilon!");
  const std::string word =
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
  for (const std::string& p : SplitPassages(word, 16)) {
    EXPECT_LE(p.size(), 16u);
    EXPECT_EQ(p.size() % 2, 0u) << "a character was cut";
  }
  EXPECT_TRUE(SplitPassages(" \n\n \t", 100).empty());
}

TEST(DocumentsTest, MarkdownKeepsTheProse) {
  const std::string md =
      "---\ntitle: Mills\n---\n# The mill\n\nThe **mill** was _built_ in 1820 (see "
      "[the map](http://x/map)).\n![A wheel](wheel.png)\n<!-- draft note -->\n* one item\n\n"
      "```\ncode_stays * as **is**\n```\nsnake_case and 2 * 3 stay.\n";
  EXPECT_EQ(MarkdownToText(md),
            "The mill\n\nThe mill was built in 1820 (see the map).\nA wheel\n\n* one item\n\n\n"
            "code_stays * as **is**\n\nsnake_case and 2 * 3 stay.\n");
}

TEST(DocumentsTest, TextCorpusFromADirectory) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("sub"));
  std::filesystem::create_directories(dir.file(".git"));
  std::ofstream(dir.file("b.txt")) << "Short note.\n";
  std::ofstream(dir.file("sub/a.md")) << "# Title\n\nPara one is here.\n\nPara two is here.\n";
  std::ofstream(dir.file("skip.json")) << "{}";
  std::ofstream(dir.file(".git/c.txt")) << "hidden";
  std::ofstream(dir.file("empty.txt")) << "\n\n";
  PassageOptions o;
  o.max_chars = 20;
  auto docs = LoadDocuments(dir.path(), o);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 4u);
  EXPECT_EQ((*docs)[0].id, "b.txt");
  EXPECT_EQ((*docs)[0].text, "Short note.");
  EXPECT_EQ((*docs)[1].id, "sub/a.md#1");
  EXPECT_EQ((*docs)[1].text, "Title");
  EXPECT_EQ((*docs)[2].id, "sub/a.md#2");
  EXPECT_EQ((*docs)[3].text, "Para two is here.");
  // One file: its name is the id.
  auto one = LoadDocuments(dir.file("b.txt"), o);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)[0].id, "b.txt");
  // The fingerprint follows the documents, not how they were stored.
  EXPECT_EQ(DocumentsFingerprint(*one), DocumentsFingerprint({{"b.txt", "Short note."}}));
  EXPECT_NE(DocumentsFingerprint(*one), DocumentsFingerprint({{"b.txt", "Short note!"}}));
  EXPECT_NE(DocumentsFingerprint({{"ab", "c"}}), DocumentsFingerprint({{"a", "bc"}}));
}

TEST(DocumentsTest, BadCorporaAreClearErrors) {
  testing::TempDir dir;
  EXPECT_EQ(LoadDocuments(dir.file("missing.txt")).status().code(), StatusCode::kNotFound);
  EXPECT_NE(LoadDocuments(dir.path()).status().message().find("no text documents"),
            std::string::npos);
  std::ofstream(dir.file("bad.txt")) << "caf\xE9 latin-1\n";
  const Status bad = LoadDocuments(dir.path()).status();
  EXPECT_NE(bad.message().find("bad.txt: not valid UTF-8"), std::string::npos) << bad.ToString();
  PassageOptions tiny;
  tiny.max_chars = 4;
  EXPECT_EQ(LoadDocuments(dir.file("bad.txt"), tiny).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace odlm::codi
