// eval/conversational_run_test.cc — CoDi prompts and the batched loop, driven by fake answerers.
#include "eval/conversational_run.h"

#include <gtest/gtest.h>

#include <map>

namespace odlm::eval {
namespace {

CoqaDataset TwoStories() {
  CoqaDataset d;
  d.stories.push_back({"s1",
                       "cnn",
                       "Ann has a red bike.",
                       {{1, "What does Ann have?", {"a red bike"}}, {2, "What color?", {"red"}}}});
  d.stories.push_back({"s2", "race", "Bob likes tea.", {{1, "What does Bob like?", {"tea"}}}});
  return d;
}

TEST(CodiPrompt, RoleFormatWithHistory) {
  EXPECT_EQ(BuildCodiPrompt("Doc.", {}, "Q1?").text,
            "[CONTEXT] Doc.[/CONTEXT] [USER] Q1?[/USER] [AGENT]");
  const QaPrompt p = BuildCodiPrompt("Doc.", {{"Q1?", "A1"}, {"Q2?", "A2"}}, "Q3?");
  EXPECT_EQ(p.text,
            "[CONTEXT] Doc.[/CONTEXT] [USER] Q1?[/USER] [AGENT] A1[/AGENT] [USER] Q2?[/USER] "
            "[AGENT] A2[/AGENT] [USER] Q3?[/USER] [AGENT]");
  // The messages the engine hook tokenizes (EncodeChat), in order.
  ASSERT_EQ(p.messages.size(), 6u);
  EXPECT_EQ(p.messages[0].role, "context");
  EXPECT_EQ(p.messages[0].content, "Doc.");
  EXPECT_EQ(p.messages[4].role, "assistant");
  EXPECT_EQ(p.messages[4].content, "A2");
  EXPECT_EQ(p.messages[5].role, "user");
  EXPECT_EQ(p.messages[5].content, "Q3?");
}

TEST(CodiPrompt, CleanAnswerStopsAtTheClosingTag) {
  EXPECT_EQ(CleanAnswer("  red [/AGENT] [USER]more"), "red");
  EXPECT_EQ(CleanAnswer("blue\n[USER]next"), "blue");
  EXPECT_EQ(CleanAnswer("plain"), "plain");
}

TEST(ConversationalRun, GoldHistoryUsesReferencesAndBatchesAcrossDialogs) {
  std::vector<std::vector<std::string>> calls;
  Answerer fake = [&](const std::vector<QaPrompt>& prompts) {
    calls.emplace_back();
    for (const QaPrompt& p : prompts) calls.back().push_back(p.text);
    std::vector<std::string> out;
    for (size_t i = 0; i < prompts.size(); ++i)
      out.push_back("ans" + std::to_string(i) + "[/AGENT]");
    return out;
  };
  auto preds = RunCoqa(TwoStories(), fake, {HistoryMode::kGold, 8, ""});
  ASSERT_TRUE(preds.ok()) << preds.status().ToString();
  // Wave 1 asks turn 1 of both stories in one batch; wave 2 asks s1 turn 2 with the gold answer.
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].size(), 2u);
  EXPECT_EQ(calls[1][0],
            "[CONTEXT] Ann has a red bike.[/CONTEXT] [USER] What does Ann have?[/USER] "
            "[AGENT] a red bike[/AGENT] [USER] What color?[/USER] [AGENT]");
  ASSERT_EQ(preds->size(), 3u);
  EXPECT_EQ((*preds)[0].id, "s1");
  EXPECT_EQ((*preds)[0].answer, "ans0");
  EXPECT_EQ((*preds)[1].turn_id, 2);
  EXPECT_EQ((*preds)[2].id, "s2");
  EXPECT_EQ((*preds)[2].answer, "ans1");
}

TEST(ConversationalRun, PredHistoryFeedsBackTheModelsAnswersAndRespectsMaxBatch) {
  std::vector<size_t> batch_sizes;
  std::string last_prompt;
  Answerer fake = [&](const std::vector<QaPrompt>& prompts) {
    batch_sizes.push_back(prompts.size());
    last_prompt = prompts.back().text;
    return std::vector<std::string>(prompts.size(), " a bicycle ");
  };
  auto preds = RunCoqa(TwoStories(), fake, {HistoryMode::kPred, 1, ""});
  ASSERT_TRUE(preds.ok());
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{1, 1, 1}));
  EXPECT_NE(last_prompt.find("[AGENT] a bicycle[/AGENT] [USER] What color?"), std::string::npos);
}

TEST(ConversationalRun, WrongAnswerCountIsAnError) {
  Answerer broken = [](const std::vector<QaPrompt>&) { return std::vector<std::string>{}; };
  auto preds = RunCoqa(TwoStories(), broken, {});
  ASSERT_FALSE(preds.ok());
  EXPECT_NE(preds.status().message().find("returned 0 answers for 2 prompts"), std::string::npos);
  EXPECT_FALSE(RunCoqa(TwoStories(), broken, {HistoryMode::kGold, 0, ""}).ok());
}

TEST(ConversationalRun, QuacPredictionsScoreAsTheAnswererIntended) {
  QuacDataset d;
  d.dialogs.push_back({"A",
                       "",
                       "",
                       "",
                       "Red car. ",
                       {{"A_q#0", "Which car?", {"red car"}, "red car", "x", "y"},
                        {"A_q#1", "A dog?", {"CANNOTANSWER"}, "CANNOTANSWER", "x", "n"}}});
  // An oracle answerer keyed on the question: the predictions must score F1 100.
  Answerer oracle = [](const std::vector<QaPrompt>& prompts) {
    std::vector<std::string> out;
    for (const auto& p : prompts) {
      out.push_back(p.text.find("A dog?[/USER] [AGENT]") != std::string::npos ? "CANNOTANSWER"
                                                                              : "red car");
    }
    return out;
  };
  auto lines = RunQuac(d, oracle, {HistoryMode::kGold, 4, ""});
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 1u);
  const QuacScores s = ScoreQuac(d, *lines);
  EXPECT_EQ(s.f1, 100.0);
  EXPECT_EQ(*s.unanswerable, 100.0);
}

TEST(RunCoqa, TheModelsRefusalIsTheDatasetsUnknownBothWays) {
  CoqaDataset d;
  d.stories.push_back({"s1",
                       "cnn",
                       "Ann has a red bike.",
                       {{1, "Does Ann have a car?", {"unknown"}}, {2, "What color?", {"red"}}}});
  std::vector<std::string> seen;
  Answerer model = [&](const std::vector<QaPrompt>& prompts) {
    std::vector<std::string> out;
    for (const auto& p : prompts) {
      seen.push_back(p.text);
      out.push_back(p.messages.size() == 2 ? "The document does not say." : "Red.");
    }
    return out;
  };
  RunOptions o;
  o.refusal = "The document does not say.";
  auto preds = RunCoqa(d, model, o);
  ASSERT_TRUE(preds.ok());
  ASSERT_EQ(preds->size(), 2u);
  EXPECT_EQ((*preds)[0].answer, "unknown");  // what the official scorer expects
  EXPECT_EQ((*preds)[1].answer, "Red.");
  // The gold "unknown" in the history is shown in the model's words.
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1].find("[AGENT] The document does not say.[/AGENT]"), std::string::npos)
      << seen[1];
  // Without a refusal text nothing is translated.
  seen.clear();
  auto plain = RunCoqa(d, model, {HistoryMode::kGold, 8, ""});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)[0].answer, "The document does not say.");
  EXPECT_NE(seen[1].find("[AGENT] unknown[/AGENT]"), std::string::npos) << seen[1];
  EXPECT_TRUE(IsRefusal("Sorry: the document does NOT say!", "The document does not say."));
  EXPECT_FALSE(IsRefusal("Red.", "The document does not say."));
  EXPECT_FALSE(IsRefusal("anything", ""));
}

}  // namespace
}  // namespace odlm::eval
