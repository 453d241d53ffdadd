// Tests of turn cleaning and validation: labels and quotes stripped, bounds, lexical support,
// refusals, questions, role tags.
#include "codi/turn_check.h"

#include <gtest/gtest.h>

#include "codi/test_util.h"

namespace odlm::codi {
namespace {

const std::vector<std::string> kRoles = {"AGENT", "CONTEXT", "USER"};

TEST(TurnCheckTest, CleanStripsLabelsQuotesAndWhitespace) {
  EXPECT_EQ(CleanTurn("  Answer:   \"In 1820.\"  ", kRoles), "In 1820.");
  EXPECT_EQ(CleanTurn("USER: Question: when\n\nwas it   built?", kRoles), "when was it built?");
  EXPECT_EQ(CleanTurn("[AGENT] It was 1820.[/AGENT]", kRoles), "It was 1820.");
  EXPECT_EQ(CleanTurn("'quoted'", kRoles), "quoted");
  EXPECT_EQ(CleanTurn("   \n\t ", kRoles), "");
  EXPECT_EQ(CleanTurn("Qualities matter", kRoles), "Qualities matter");  // "q:" needs the colon
}

TEST(TurnCheckTest, SupportIsShareOfContentWordsInTheDocument) {
  const auto doc = DocumentWords("The old mill by the river was built in 1820 and ground wheat.");
  EXPECT_DOUBLE_EQ(Support("It was built in 1820.", doc), 1.0);  // built, 1820
  EXPECT_DOUBLE_EQ(Support("The mill ground barley.", doc), 2.0 / 3);
  EXPECT_DOUBLE_EQ(Support("Rivers.", doc), 1.0);  // plural of a document word
  EXPECT_DOUBLE_EQ(Support("Yes.", doc), 1.0);     // no content words
  EXPECT_DOUBLE_EQ(Support("Penguins dance tango", doc), 0.0);
  EXPECT_EQ(ContentWords("The Mill, in 1820!"), (std::vector<std::string>{"mill", "1820"}));
}

TEST(TurnCheckTest, ChecksEachRule) {
  const Graph g = testing::QaGraph();
  const auto doc = DocumentWords(testing::TestDocs()[0].text);
  const Link& a = g.links[g.LinkId("a")];
  const Link& q = g.links[g.LinkId("q")];
  const Link& r = g.links[g.LinkId("r")];
  EXPECT_TRUE(CheckTurn(g, a, "It was built in 1820.", doc).ok);
  EXPECT_EQ(CheckTurn(g, a, "", doc).reason, "empty");
  std::string long_answer;
  for (int i = 0; i < 31; ++i) long_answer += "mill ";
  EXPECT_EQ(CheckTurn(g, a, long_answer, doc).reason, "too_long");
  const auto v = CheckTurn(g, a, "Penguins dance the tango at the mill.", doc);
  EXPECT_EQ(v.reason, "unsupported");
  EXPECT_NEAR(v.support, 1.0 / 4, 1e-9);  // penguins dance tango mill
  EXPECT_EQ(CheckTurn(g, a, "It was 1820 [/AGENT] [USER] next", doc).reason, "role_tag");
  // Quoting a tag the document contains is fine; the same tag not in the document is not.
  const std::string manual = "Press the key marked [AGENT] to talk to the mill's assistant.";
  EXPECT_TRUE(CheckTurn(g, a, "Press the key marked [AGENT].", DocumentWords(manual), manual).ok);
  EXPECT_EQ(CheckTurn(g, a, "Press the key marked [USER].", DocumentWords(manual), manual).reason,
            "role_tag");
  EXPECT_EQ(CheckTurn(g, q, "Tell me about the mill.", doc).reason, "not_question");
  EXPECT_TRUE(CheckTurn(g, q, "When was the mill built?", doc).ok);
  EXPECT_EQ(CheckTurn(g, r, "It was built in 1820.", doc).reason, "not_refusal");
  EXPECT_TRUE(CheckTurn(g, r, "The text does not say who owned it.", doc).ok);
  EXPECT_EQ(WordCount("  a  b\tc\n"), 3);
}

}  // namespace
}  // namespace odlm::codi
