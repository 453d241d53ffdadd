// Tests of the synthesis driver in-process: N unique records, shards whose union is the single
// run, resume after a torn write, refusal to mix runs, concurrency, stop-and-resume.
#include "codi/synth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "codi/fake_teacher.h"
#include "codi/test_util.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = testing::QaGraph();
    TeacherOptions o;
    o.urls = {fake_.url()};
    o.model = "fake";
    o.request_timeout_s = 5;
    pool_ = std::move(TeacherPool::Create(o)).value();
  }
  SynthOptions Options(const std::string& name, uint64_t n) {
    SynthOptions o;
    o.out_path = dir_.file(name);
    o.n = n;
    o.seed = 11;
    o.concurrency = 4;
    o.retry.base_s = 0.001;
    o.batch_lines = 4;
    o.progress_seconds = 0;
    return o;
  }
  StatusOr<SynthSummary> Run(const SynthOptions& o) {
    return RunSynth(graph_, docs_, pool_.get(), o);
  }
  FakeTeacher fake_;
  testing::TempDir dir_;
  Graph graph_;
  std::vector<Document> docs_ = testing::TestDocs();
  std::unique_ptr<TeacherPool> pool_;
};

TEST_F(SynthTest, WritesNUniqueCompleteRecords) {
  auto s = Run(Options("out.jsonl", 40));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->planned, 40u);
  EXPECT_EQ(s->ok, 40u);
  const auto recs = testing::RecordsById(dir_.file("out.jsonl"));
  EXPECT_EQ(recs.size(), 40u);
  EXPECT_EQ(testing::Lines(testing::ReadAll(dir_.file("out.jsonl"))).size(), 40u);
  for (uint64_t i = 0; i < 40; ++i) {
    const auto& r = recs.at(ConversationId(i));
    EXPECT_EQ(r["index"], i);
    EXPECT_EQ(r["doc_id"], docs_[i % 3].id);
  }
  // A second run into the same file without --resume is refused.
  auto again = Run(Options("out.jsonl", 40));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("--resume"), std::string::npos);
  // --resume of a complete file does nothing.
  auto o = Options("out.jsonl", 40);
  o.resume = true;
  const int before = fake_.requests();
  auto noop = Run(o);
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->already, 40u);
  EXPECT_EQ(fake_.requests(), before);
}

TEST_F(SynthTest, UnionOfShardsEqualsSingleRun) {
  ASSERT_TRUE(Run(Options("single.jsonl", 30)).ok());
  std::map<std::string, json> merged;
  for (uint64_t k = 0; k < 3; ++k) {
    auto o = Options("shard" + std::to_string(k) + ".jsonl", 30);
    o.shard_index = k;
    o.shard_count = 3;
    o.concurrency = 2 + k;  // concurrency does not change the records
    auto s = Run(o);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->planned, 10u);
    for (auto& [id, r] : testing::RecordsById(o.out_path)) {
      EXPECT_EQ(r["index"].get<uint64_t>() % 3, k);
      EXPECT_TRUE(merged.emplace(id, r).second) << "duplicate " << id;
    }
  }
  EXPECT_EQ(merged, testing::RecordsById(dir_.file("single.jsonl")));
}

TEST_F(SynthTest, ResumeCutsATornLineAndCompletesExactly) {
  ASSERT_TRUE(Run(Options("full.jsonl", 25)).ok());
  const auto full_lines = testing::Lines(testing::ReadAll(dir_.file("full.jsonl")));
  // A crashed run: 9 complete lines and half of the 10th.
  {
    std::ofstream f(dir_.file("crashed.jsonl"), std::ios::binary);
    for (int i = 0; i < 9; ++i) f << full_lines[i] << "\n";
    f << full_lines[9].substr(0, full_lines[9].size() / 2);
  }
  auto o = Options("crashed.jsonl", 25);
  o.resume = true;
  auto s = Run(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->already, 9u);
  EXPECT_EQ(s->ok, 16u);
  EXPECT_GT(s->torn_bytes, 0u);
  const std::string text = testing::ReadAll(o.out_path);
  EXPECT_EQ(testing::Lines(text).size(), 25u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(testing::RecordsById(o.out_path), testing::RecordsById(dir_.file("full.jsonl")));
  // A torn line that happens to end in a newline but is not JSON is cut as well.
  {
    std::ofstream f(dir_.file("crashed2.jsonl"), std::ios::binary);
    for (int i = 0; i < 5; ++i) f << full_lines[i] << "\n";
    f << full_lines[5].substr(0, 40) << "\n";
  }
  o = Options("crashed2.jsonl", 25);
  o.resume = true;
  ASSERT_TRUE(Run(o).ok());
  EXPECT_EQ(testing::RecordsById(o.out_path), testing::RecordsById(dir_.file("full.jsonl")));
}

TEST_F(SynthTest, ResumeRefusesAnotherRunsFile) {
  ASSERT_TRUE(Run(Options("a.jsonl", 10)).ok());
  auto o = Options("a.jsonl", 10);
  o.resume = true;
  o.seed = 12;
  auto s = Run(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("a.jsonl:1: written with seed 11"), std::string::npos)
      << s.status().message();
  o.seed = 11;
  o.shard_index = 1;
  o.shard_count = 2;
  s = Run(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("is not part of this run"), std::string::npos);
  // A corrupt line in the middle is data loss, not silently dropped.
  std::string text = testing::ReadAll(dir_.file("a.jsonl"));
  text.replace(text.find('\n') + 1, 5, "XXXXX");
  std::ofstream(dir_.file("a.jsonl"), std::ios::binary) << text;
  o.shard_index = 0;
  o.shard_count = 1;
  s = Run(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("a.jsonl:2: not a conversation record"), std::string::npos);
}

TEST_F(SynthTest, FailuresAreRecordedOnceNotRedoneAndRetriedOnRequest) {
  fake_.FaultEvery(1, {Fault::kHttp, 400});
  auto o = Options("fail.jsonl", 6);
  auto s = Run(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->failed, 6u);
  EXPECT_EQ(s->failed_by_reason.at("http_400"), 6u);
  EXPECT_NE(FormatSummary(*s).find("failed: 6 http_400"), std::string::npos) << FormatSummary(*s);
  fake_.FaultEvery(0, {});
  o.resume = true;
  s = Run(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->already, 6u);
  EXPECT_EQ(s->ok, 0u);
  for (const auto& [id, r] : testing::RecordsById(o.out_path)) EXPECT_EQ(r["reason"], "http_400");

  // --retry-failed (only with --resume) runs them again under their indices.
  o.retry_failed = true;
  o.resume = false;
  EXPECT_EQ(Run(o).status().code(), StatusCode::kInvalidArgument) << "needs --resume";
  o.resume = true;
  s = Run(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->retried, 6u);
  EXPECT_EQ(s->already, 0u);
  EXPECT_EQ(s->ok, 6u);
  EXPECT_NE(FormatSummary(*s).find("6 earlier failures run again"), std::string::npos);
  // Exactly once: six records, indices 0..5, all ok now.
  const auto records = testing::RecordsById(o.out_path);
  ASSERT_EQ(records.size(), 6u);
  std::set<uint64_t> indices;
  for (const auto& [id, r] : records) {
    EXPECT_EQ(r["status"], "ok");
    indices.insert(r["index"].get<uint64_t>());
  }
  EXPECT_EQ(indices.size(), 6u);
  EXPECT_EQ(testing::Lines(testing::ReadAll(o.out_path)).size(), 6u);
  // Nothing failed: another retry has nothing to do.
  s = Run(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->retried, 0u);
  EXPECT_EQ(s->already, 6u);
}

TEST_F(SynthTest, ResumeRefusesAnotherTeacherGraphOrDocumentSet) {
  auto o = Options("identity.jsonl", 4);
  o.teacher_model = "teacher-a";
  o.graph_hash = "00000000000000aa";
  o.docs_hash = "00000000000000bb";
  ASSERT_TRUE(Run(o).ok());
  for (const auto& [id, r] : testing::RecordsById(o.out_path)) {
    EXPECT_EQ(r["teacher_model"], "teacher-a");
    EXPECT_EQ(r["graph_hash"], "00000000000000aa");
    EXPECT_EQ(r["docs_hash"], "00000000000000bb");
  }
  const std::string before = testing::ReadAll(o.out_path);
  o.resume = true;
  for (auto [field, what] : {std::pair<std::string SynthOptions::*, std::string>{
                                 &SynthOptions::teacher_model, "another teacher model"},
                             {&SynthOptions::graph_hash, "another graph"},
                             {&SynthOptions::docs_hash, "other documents"}}) {
    SynthOptions other = o;
    other.*field = "something-else";
    auto s = Run(other);
    ASSERT_FALSE(s.ok()) << what;
    EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(s.status().message().find("written with " + what), std::string::npos)
        << s.status().message();
    EXPECT_EQ(testing::ReadAll(o.out_path), before) << "a refused resume changes nothing";
  }
  EXPECT_TRUE(Run(o).ok());  // the same settings resume
}

TEST_F(SynthTest, ManyRequestsInFlight) {
  fake_.SetLatency(0.05);
  auto o = Options("conc.jsonl", 16);
  o.concurrency = 8;
  auto s = Run(o);
  ASSERT_TRUE(s.ok());
  // Concurrency shows in what the teacher saw at once (each reply takes 50 ms), not in wall time.
  EXPECT_GE(fake_.max_in_flight(), 6);
}

TEST_F(SynthTest, StopThenResume) {
  fake_.SetLatency(0.02);
  std::atomic<bool> stop{false};
  auto o = Options("stop.jsonl", 30);
  o.stop = &stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop = true;
  });
  auto s = Run(o);
  stopper.join();
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->interrupted, 0u);
  EXPECT_EQ(s->ok + s->interrupted, 30u);
  EXPECT_EQ(testing::RecordsById(o.out_path).size(), s->ok);
  stop = false;
  o.resume = true;
  s = Run(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(testing::RecordsById(o.out_path).size(), 30u);
  EXPECT_EQ(testing::Lines(testing::ReadAll(o.out_path)).size(), 30u);
}

TEST(ShardTest, Parse) {
  uint64_t k, n;
  ASSERT_TRUE(ParseShard("2/8", &k, &n).ok());
  EXPECT_EQ(k, 2u);
  EXPECT_EQ(n, 8u);
  EXPECT_FALSE(ParseShard("8/8", &k, &n).ok());
  EXPECT_FALSE(ParseShard("1/0", &k, &n).ok());
  EXPECT_FALSE(ParseShard("a/2", &k, &n).ok());
  EXPECT_FALSE(ParseShard("3", &k, &n).ok());
  EXPECT_FALSE(ParseShard("-1/2", &k, &n).ok());
}

}  // namespace
}  // namespace odlm::codi

namespace odlm::codi {
namespace {

// The shipped example graph and documents run end to end: every template is understood, every
// check passes on grounded replies, and the observed chain fits the configured one.
TEST(ShippedExampleTest, RunsAgainstTheFakeTeacher) {
  auto g = LoadGraphFile(std::string(ODLM_SOURCE_DIR) + "/examples/codi/coqa_graph.yaml");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto docs = LoadDocuments(std::string(ODLM_SOURCE_DIR) + "/examples/codi/documents.jsonl");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(docs->size(), 5u);
  FakeTeacher fake;
  TeacherOptions t;
  t.urls = {fake.url()};
  t.model = "fake";
  auto pool = std::move(TeacherPool::Create(t)).value();
  testing::TempDir dir;
  SynthOptions o;
  o.out_path = dir.file("ex.jsonl");
  o.n = 60;
  o.seed = 2;
  o.concurrency = 4;
  o.progress_seconds = 0;
  o.retry.base_s = 0.001;
  auto s = RunSynth(*g, *docs, pool.get(), o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ok, 60u);
  std::set<std::string> links_seen;
  for (const auto& [id, r] : testing::RecordsById(o.out_path)) {
    for (const auto& l : r["walk"]) links_seen.insert(l.get<std::string>());
    EXPECT_EQ(r["turns"].back()["role"], "AGENT");  // walks end on an answer
  }
  EXPECT_EQ(links_seen.size(), g->links.size());
}

}  // namespace
}  // namespace odlm::codi
