// tests/codi_export_coqa_test.cc — `odlm codi export --format coqa` at the record level: question
// and answer pairing, refusals as "unknown", spans (code points), skipped conversations, and that
// the written file is a dataset the CoQA scorer accepts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "codi/export.h"
#include "eval/coqa.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

json Turn(const std::string& role, const std::string& text, double support = -1) {
  json t = {{"link", role == "AGENT" ? "answer" : "q"},
            {"role", role},
            {"text", text},
            {"weight", role == "AGENT" ? 1 : 0}};
  if (support >= 0) t["support"] = support;
  return t;
}

json Record(const std::string& id, json turns, const std::string& status = "ok") {
  return {{"id", id},
          {"index", 0},
          {"doc_id", "doc-" + id},
          {"status", status},
          {"walk", json::array()},
          {"turns", std::move(turns)}};
}

const std::string kStory = "Café Lumo opened in 1873. It has 1,240 seats and three owners.";

TEST(ExportCoqaTest, PairsQuestionsWithAnswersAndMarksRefusals) {
  const json rec =
      Record("c1", json::array({Turn("CONTEXT", kStory), Turn("USER", "When did it open?"),
                                Turn("AGENT", "In 1873.", 1.0), Turn("USER", "Who built it?"),
                                Turn("AGENT", "The document does not say."),
                                Turn("USER", "Is it large?"), Turn("AGENT", "Yes.", 1.0),
                                Turn("USER", "How many seats?"), Turn("AGENT", "1,240 seats", 1.0),
                                Turn("USER", "A question left unanswered?")}));
  auto s = ExportRecord(rec, ExportFormat::kCoqa);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)["id"], "c1");
  EXPECT_EQ((*s)["filename"], "doc-c1");
  EXPECT_EQ((*s)["source"], "wikipedia");
  EXPECT_EQ((*s)["story"], kStory);
  ASSERT_EQ((*s)["questions"].size(), 4u);
  ASSERT_EQ((*s)["answers"].size(), 4u);
  EXPECT_EQ((*s)["questions"][1]["input_text"], "Who built it?");
  EXPECT_EQ((*s)["questions"][3]["turn_id"], 4);
  const json& a = (*s)["answers"];
  // "In 1873" found case-insensitively; offsets count code points ("é" is one).
  EXPECT_EQ(a[0]["input_text"], "In 1873.");
  EXPECT_EQ(a[0]["span_text"], "in 1873");
  EXPECT_EQ(a[0]["span_start"], 17);
  EXPECT_EQ(a[0]["span_end"], 24);
  EXPECT_EQ(a[1]["input_text"], "unknown");
  EXPECT_EQ(a[1]["span_start"], -1);
  EXPECT_FALSE(a[2].contains("span_start"));  // "Yes" is not in the story
  EXPECT_EQ(a[3]["span_text"], "1,240 seats");
  EXPECT_EQ(a[3]["turn_id"], 4);
}

TEST(ExportCoqaTest, AGroundedAnswerIsNeverARefusal) {
  const json rec = Record(
      "c2", json::array({Turn("CONTEXT", "The record is unknown to most."),
                         Turn("USER", "What is it?"), Turn("AGENT", "Unknown to most.", 1.0)}));
  auto s = ExportRecord(rec, ExportFormat::kCoqa);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["answers"][0]["input_text"], "Unknown to most.");
}

TEST(ExportCoqaTest, FileIsADatasetTheScorerReads) {
  char tmpl[] = "/tmp/odlm_export_coqa_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    std::ofstream in(dir + "/convs.jsonl");
    in << Record("c1", json::array({Turn("CONTEXT", kStory), Turn("USER", "When?"),
                                    Turn("AGENT", "In 1873.", 1.0)}))
              .dump()
       << "\n";
    in << Record("c2", json::array({Turn("CONTEXT", kStory), Turn("USER", "Who?")}), "failed")
              .dump()
       << "\n";
    in << Record("c3", json::array({Turn("USER", "No story?"), Turn("AGENT", "None.", 1.0)})).dump()
       << "\n";
  }
  auto summary = ExportFile(dir + "/convs.jsonl", ExportFormat::kCoqa, dir + "/coqa.json");
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->written, 1u);
  EXPECT_EQ(summary->skipped_failed, 1u);
  EXPECT_EQ(summary->skipped_unusable, 1u);
  auto data = eval::LoadCoqaDataset(dir + "/coqa.json");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data->stories.size(), 1u);
  EXPECT_EQ(data->stories[0].turns[0].answers[0], "In 1873.");
  const auto scores = eval::ScoreCoqa(*data, {{"c1", 1, "in 1873"}});
  EXPECT_DOUBLE_EQ(scores.overall.f1, 100.0);
  EXPECT_TRUE(ParseExportFormat("coqa").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace odlm::codi
