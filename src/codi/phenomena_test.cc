// codi/phenomena_test.cc — the surface checks of requested phenomena.
#include "codi/phenomena.h"

#include <gtest/gtest.h>

#include "codi/turn_check.h"

namespace odlm::codi {
namespace {

PhenomenonCheck Check(std::string_view name, const std::string& text,
                      const std::vector<std::string>& earlier = {"When was the mill built?"},
                      const std::string& previous = "When was the mill built by the miller?") {
  static const auto doc = DocumentWords(
      "The old mill by the river was built in 1820 and ground wheat for the village. Its wheel "
      "was replaced in 1901.");
  return CheckPhenomenon(name, text, earlier, previous, doc);
}

constexpr auto kShown = PhenomenonCheck::kShown;
constexpr auto kMissing = PhenomenonCheck::kMissing;

TEST(PhenomenaTest, Coreference) {
  EXPECT_EQ(Check("coreference", "Who built it?"), kShown);
  EXPECT_EQ(Check("coreference", "Was their wheel replaced?"), kShown);
  EXPECT_EQ(Check("coreference", "And the latter?"), kShown);
  EXPECT_EQ(Check("coreference", "Who built the mill?"), kMissing);
  EXPECT_EQ(Check("coreference", "Was Italy involved?"), kMissing);  // "it" inside a word
}

TEST(PhenomenaTest, Ellipsis) {
  EXPECT_EQ(Check("ellipsis", "And in 1901?"), kShown);
  EXPECT_EQ(Check("ellipsis", "What was ground there for the people of the village?"), kMissing);
  // Longer than 6 words but at most half the previous question.
  EXPECT_EQ(Check("ellipsis", "And what about the wheel then?", {},
                  "When exactly was the old mill by the river built and by whom and why?"),
            kShown);
}

TEST(PhenomenaTest, DiscourseMarker) {
  EXPECT_EQ(Check("discourse_marker", "And when was it built?"), kShown);
  EXPECT_EQ(Check("discourse_marker", "what about the wheel?"), kShown);
  EXPECT_EQ(Check("discourse_marker", "Changing the subject, what did it grind?"), kShown);
  EXPECT_EQ(Check("discourse_marker", "When was it built, and why?"), kMissing);
  EXPECT_EQ(Check("discourse_marker", "Sometimes mills burn?"), kMissing);  // "so" is a word
  EXPECT_EQ(Check("discourse_marker", "What was ground?"), kMissing);
}

TEST(PhenomenaTest, TopicSwitchNeedsANewWordFromTheDocument) {
  EXPECT_EQ(Check("topic_switch", "What did the village grind?"), kShown);  // "village", "grind"?
  EXPECT_EQ(Check("topic_switch", "When was the mill built?"), kMissing);   // all said before
  EXPECT_EQ(Check("topic_switch", "Who sells bread?"), kMissing);  // new, but not in the document
}

TEST(PhenomenaTest, BrevityAndUnknownNames) {
  EXPECT_EQ(Check("brevity", "In 1820."), kShown);
  EXPECT_EQ(Check("brevity", "It was built in the year 1820 by the miller."), kMissing);
  EXPECT_EQ(Check("politeness", "Please, when?"), PhenomenonCheck::kUnchecked);
  EXPECT_TRUE(IsCheckablePhenomenon("topic_switch"));
  EXPECT_FALSE(IsCheckablePhenomenon("politeness"));
}

}  // namespace
}  // namespace odlm::codi
