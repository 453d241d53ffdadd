// Tests of `codi stats` (chain fit, phenomena, grounding, failures) and `codi export` (exact
// Hugging Face, ShareGPT and bracketed odlm records).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "codi/export.h"
#include "codi/fake_teacher.h"
#include "codi/records.h"
#include "codi/stats.h"
#include "codi/synth.h"
#include "codi/test_util.h"
#include "platform/file_util.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

class StatsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    FakeTeacher fake;
    fake.FaultEvery(97, {Fault::kHttp, 400});  // a few conversations fail, deterministically
    TeacherOptions t;
    t.urls = {fake.url()};
    t.model = "fake";
    auto pool = std::move(TeacherPool::Create(t)).value();
    SynthOptions o;
    o.out_path = dir_->file("out.jsonl");
    o.n = 400;
    o.seed = 5;
    o.concurrency = 4;
    o.progress_seconds = 0;
    o.retry.base_s = 0.001;
    const Graph g = testing::QaGraph();
    auto s = RunSynth(g, testing::TestDocs(), pool.get(), o);
    CHECK(s.ok()) << s.status().ToString();
    failed_ = s->failed;
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::TempDir* dir_;
  static uint64_t failed_;
};
testing::TempDir* StatsTest::dir_ = nullptr;
uint64_t StatsTest::failed_ = 0;

TEST_F(StatsTest, AgreesWithTheGraph) {
  const Graph g = testing::QaGraph();
  auto s = ComputeStats(dir_->file("out.jsonl"), &g);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const json& j = *s;
  EXPECT_EQ(j["conversations"]["total"], 400);
  EXPECT_GT(failed_, 0u);
  EXPECT_EQ(j["conversations"]["failed"], failed_);
  EXPECT_EQ(j["failures_by_reason"]["http_400"], failed_);
  EXPECT_GT(j["chi_square"]["combined"]["p_value"].get<double>(), 1e-3) << j["chi_square"].dump(2);
  EXPECT_EQ(j["chi_square"]["combined"]["impossible"], 0);
  EXPECT_EQ(j["grounding"]["grounded_rate"], 1.0);  // the fake answers from the document
  EXPECT_GT(j["phenomena"]["coreference"]["count"].get<int>(), 0);
  const double coref = j["phenomena_by_link"]["q"]["coreference"]["observed"];
  EXPECT_NEAR(coref, 0.4, 0.08);
  EXPECT_EQ(j["phenomena_by_link"]["q"]["coreference"]["configured"], 0.4);
  EXPECT_GT(j["turns_by_role"]["AGENT"]["count"].get<int>(), 400);
  EXPECT_TRUE(FormatStats(j).find("chi-square against the graph") != std::string::npos);
}

TEST_F(StatsTest, FailedConversationsCountByReasonOnly) {
  ASSERT_GT(failed_, 0u);
  auto s = ComputeStats(dir_->file("out.jsonl"), nullptr);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  uint64_t ok_turns = 0;
  for (const auto& [id, r] : testing::RecordsById(dir_->file("out.jsonl"))) {
    if (r["status"] == "ok") ok_turns += r["turns"].size();
  }
  uint64_t counted = 0;
  for (const auto& [role, w] : (*s)["turns_by_role"].items()) counted += w["count"].get<uint64_t>();
  EXPECT_EQ(counted, ok_turns);
  EXPECT_EQ((*s)["conversations"]["failed"], failed_);
}

TEST_F(StatsTest, RejectsADifferentChain) {
  json gj = testing::QaGraphJson();
  gj["transitions"]["a"] = {{"q", 0.5}, {"nq", 0.5}};
  const Graph other = std::move(ParseGraph(gj)).value();
  auto s = ComputeStats(dir_->file("out.jsonl"), &other);
  ASSERT_TRUE(s.ok());
  EXPECT_LT((*s)["chi_square"]["tests"]["from a"]["p_value"].get<double>(), 1e-6);
  // A chain that forbids an observed transition.
  gj = testing::QaGraphJson();
  gj["transitions"]["a"] = {{"q", 1.0}};
  gj["transitions"]["ctx"] = {{"q", 0.5}, {"nq", 0.5}};
  const Graph forbids = std::move(ParseGraph(gj)).value();
  s = ComputeStats(dir_->file("out.jsonl"), &forbids);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["chi_square"]["combined"]["p_value"], 0.0);
  EXPECT_GT((*s)["chi_square"]["tests"]["from a"]["impossible"].get<int>(), 0);
}

TEST_F(StatsTest, WithoutGraphAndOnBadFiles) {
  auto s = ComputeStats(dir_->file("out.jsonl"), nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->contains("chi_square"));
  const std::string bad = dir_->file("bad.jsonl");
  std::ofstream(bad) << "{\"id\":\"x\"}\n";
  EXPECT_NE(ComputeStats(bad, nullptr).status().message().find("bad.jsonl:1: not a conversation"),
            std::string::npos);
}

json SampleRecord() {
  return json::parse(R"({"id":"c00000001","status":"ok","walk":["ctx","q","a"],
    "turns":[{"link":"ctx","role":"CONTEXT","text":"Doc text.","weight":0},
             {"link":"q","role":"USER","text":"When?","weight":0.1},
             {"link":"a","role":"AGENT","text":"In 1820.","weight":1}]})");
}

TEST(ExportTest, HuggingFace) {
  auto e = ExportRecord(SampleRecord(), ExportFormat::kHf);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, json::parse(R"({"id":"c00000001","messages":[
      {"role":"system","content":"Doc text.","train":false},
      {"role":"user","content":"When?","train":true},
      {"role":"assistant","content":"In 1820.","train":true,"weight":1}],"weights":[0,0.1,1]})"));
}

TEST(ExportTest, ShareGpt) {
  auto e = ExportRecord(SampleRecord(), ExportFormat::kShareGpt);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, json::parse(R"({"id":"c00000001","conversations":[
      {"from":"system","value":"Doc text.","weight":0},{"from":"human","value":"When?","weight":0.1},
      {"from":"gpt","value":"In 1820.","weight":1}]})"));
}

TEST(ExportTest, OdlmBracketedWithSegments) {
  auto e = ExportRecord(SampleRecord(), ExportFormat::kOdlm);
  ASSERT_TRUE(e.ok());
  const std::string text = (*e)["text"];
  EXPECT_EQ(text, "[CONTEXT] Doc text.[/CONTEXT] [USER] When?[/USER] [AGENT] In 1820.[/AGENT]");
  const json& seg = (*e)["segments"];
  ASSERT_EQ(seg.size(), 3u);
  EXPECT_EQ(
      text.substr(seg[2]["start"], seg[2]["end"].get<size_t>() - seg[2]["start"].get<size_t>()),
      "[AGENT] In 1820.[/AGENT]");
  EXPECT_EQ(seg[2]["weight"], 1);
  EXPECT_EQ(seg[1]["role"], "USER");
  EXPECT_EQ(seg[0]["start"], 0);
}

TEST_F(StatsTest, ExportFileSkipsFailedConversations) {
  const std::string out = dir_->file("hf.jsonl");
  auto s = ExportFile(dir_->file("out.jsonl"), ExportFormat::kHf, out);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->written + s->skipped_failed, 400u);
  EXPECT_EQ(s->skipped_failed, failed_);
  const auto lines = testing::Lines(testing::ReadAll(out));
  ASSERT_EQ(lines.size(), s->written);
  for (const auto& l : lines) {
    const json j = json::parse(l);
    ASSERT_TRUE(j["messages"].is_array());
    EXPECT_EQ(j["messages"][0]["role"], "system");
    EXPECT_EQ(j["messages"].back()["role"], "assistant");
    EXPECT_EQ(j["weights"].size(), j["messages"].size());
  }
  EXPECT_FALSE(ParseExportFormat("alpaca").ok());
}

// --max-exchanges 1: every conversation ends at its first answer, with the document and question
// before it; the same conversations are written (a shorter view of the same set).
TEST_F(StatsTest, ExportMaxExchangesKeepsTheFirstAnswers) {
  auto whole = ExportFile(dir_->file("out.jsonl"), ExportFormat::kOdlm, dir_->file("whole.jsonl"));
  auto one = ExportFile(dir_->file("out.jsonl"), ExportFormat::kOdlm, dir_->file("one.jsonl"),
                        ExportOptions{.max_exchanges = 1});
  auto two = ExportFile(dir_->file("out.jsonl"), ExportFormat::kOdlm, dir_->file("two.jsonl"),
                        ExportOptions{.max_exchanges = 2});
  ASSERT_TRUE(whole.ok() && one.ok() && two.ok());
  EXPECT_EQ(one->written, whole->written);
  const auto whole_lines = testing::Lines(testing::ReadAll(dir_->file("whole.jsonl")));
  const auto one_lines = testing::Lines(testing::ReadAll(dir_->file("one.jsonl")));
  const auto two_lines = testing::Lines(testing::ReadAll(dir_->file("two.jsonl")));
  ASSERT_EQ(one_lines.size(), whole_lines.size());
  size_t shortened = 0;
  for (size_t i = 0; i < one_lines.size(); ++i) {
    const json w = json::parse(whole_lines[i]), o = json::parse(one_lines[i]),
               t = json::parse(two_lines[i]);
    EXPECT_EQ(o["id"], w["id"]);
    int agents = 0;
    for (const json& seg : o["segments"]) agents += seg["role"] == "AGENT";
    EXPECT_EQ(agents, 1) << o["text"];
    EXPECT_EQ(o["segments"].back()["role"], "AGENT");
    EXPECT_EQ(o["segments"][0]["role"], "CONTEXT");
    // A prefix of the whole conversation, and of the two-answer one.
    const std::string ot = o["text"], tt = t["text"], wt = w["text"];
    EXPECT_EQ(wt.compare(0, ot.size(), ot), 0);
    EXPECT_EQ(tt.compare(0, ot.size(), ot), 0);
    shortened += ot.size() < wt.size();
  }
  EXPECT_GT(shortened, one_lines.size() / 2);
}

// Ten conversations copied under new ids (one in capitals): stats counts them as
// near-duplicates, export --dedup drops exactly them and keeps the originals (earlier by id).
TEST_F(StatsTest, DiversityAndDedup) {
  const std::string path = dir_->file("dups.jsonl");
  std::string data = testing::ReadAll(dir_->file("out.jsonl"));
  int copies = 0;
  for (const std::string& line : testing::Lines(data)) {
    json r = json::parse(line);
    if (r["status"] != "ok" || copies == 10) continue;
    r["id"] = "d" + r["id"].get<std::string>();  // after every "c…" id
    if (copies == 0) {  // case and punctuation do not make a conversation new
      std::string& t = r["turns"].back()["text"].get_ref<std::string&>();
      for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      t += "!";
    }
    data += r.dump() + "\n";
    ++copies;
  }
  std::ofstream(path) << data;
  auto st = ComputeStats(path, nullptr);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const json& d = (*st)["diversity"];
  EXPECT_GE(d["near_duplicate_conversations"].get<int>(), 10);
  for (const char* who : {"questions", "answers"}) {
    for (const char* n : {"distinct_1", "distinct_2"}) {
      EXPECT_GT(d[who][n].get<double>(), 0.0) << who << n;
      EXPECT_LE(d[who][n].get<double>(), 1.0) << who << n;
    }
  }
  EXPECT_EQ(d["documents"], testing::TestDocs().size());
  EXPECT_NE(FormatStats(*st).find("near-duplicate conversations"), std::string::npos);
  // The fake teacher's templated turns make some originals near-duplicates of each other too:
  // dedup drops the copies and those, never an original in favour of its copy.
  auto plain = ExportFile(path, ExportFormat::kHf, dir_->file("all.jsonl"));
  auto dedup =
      ExportFile(path, ExportFormat::kHf, dir_->file("dedup.jsonl"), ExportOptions{.dedup = true});
  ASSERT_TRUE(plain.ok() && dedup.ok());
  EXPECT_EQ(plain->skipped_duplicates, 0u);
  EXPECT_GE(dedup->skipped_duplicates, 10u);
  EXPECT_EQ(dedup->written + dedup->skipped_duplicates, plain->written);
  for (const std::string& line : testing::Lines(testing::ReadAll(dir_->file("dedup.jsonl")))) {
    EXPECT_EQ(json::parse(line)["id"].get<std::string>()[0], 'c') << "a copy was kept";
  }
}

TEST(ExportTest, RoleTagsInsideATurnAreWrittenSoTheyCannotSplitIt) {
  const json r = json::parse(R"({"id":"c00000009","status":"ok","walk":["ctx","q","a"],
      "turns":[{"link":"ctx","role":"CONTEXT","text":"Press [AGENT] then [/USER].","weight":0},
               {"link":"q","role":"USER","text":"What is [CONTEXT] for?","weight":0},
               {"link":"a","role":"AGENT","text":"It says [AGENT].","weight":1}]})");
  auto e = ExportRecord(r, ExportFormat::kOdlm);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string text = (*e)["text"];
  EXPECT_EQ(text,
            "[CONTEXT] Press (AGENT) then (/USER).[/CONTEXT] [USER] What is (CONTEXT) for?[/USER] "
            "[AGENT] It says (AGENT).[/AGENT]");
  // Each segment holds exactly its own two tags.
  for (const auto& seg : (*e)["segments"]) {
    const std::string piece =
        text.substr(seg["start"], seg["end"].get<size_t>() - seg["start"].get<size_t>());
    EXPECT_EQ(std::count(piece.begin(), piece.end(), '['), 2) << piece;
  }
  // Other formats keep the text as it was.
  auto hf = ExportRecord(r, ExportFormat::kHf);
  ASSERT_TRUE(hf.ok());
  EXPECT_EQ((*hf)["messages"][0]["content"], "Press [AGENT] then [/USER].");
  EXPECT_EQ(NeutralizeRoleTags("[X] [/X] [Y]", {"X"}), "(X) (/X) [Y]");
}

TEST_F(StatsTest, ExportIsInIdOrderWhateverOrderSynthesisFinishedIn) {
  // The same conversations in reverse file order (as concurrent synthesis may append them).
  std::vector<std::string> lines = testing::Lines(testing::ReadAll(dir_->file("out.jsonl")));
  std::reverse(lines.begin(), lines.end());
  std::string reversed;
  for (const std::string& l : lines) reversed += l + "\n";
  ASSERT_TRUE(WriteFileAtomically(dir_->file("reversed.jsonl"), reversed).ok());
  for (ExportFormat format : {ExportFormat::kOdlm, ExportFormat::kCoqa}) {
    ASSERT_TRUE(ExportFile(dir_->file("out.jsonl"), format, dir_->file("a.out")).ok());
    ASSERT_TRUE(ExportFile(dir_->file("reversed.jsonl"), format, dir_->file("b.out")).ok());
    const std::string a = testing::ReadAll(dir_->file("a.out"));
    EXPECT_EQ(a, testing::ReadAll(dir_->file("b.out")));
    if (format == ExportFormat::kOdlm) {
      std::string previous;
      for (const std::string& l : testing::Lines(a)) {
        const std::string id = json::parse(l)["id"];
        EXPECT_LT(previous, id);
        previous = id;
      }
    }
  }
}

}  // namespace
}  // namespace odlm::codi
