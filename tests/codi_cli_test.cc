// `odlm codi` as a real process against a fault-injecting loopback teacher (in this test process):
// kill -9 in the middle of a run and --resume gives exactly N unique, complete conversations equal
// to an uninterrupted run; shards via the CLI; SIGINT stops resumably; stats and export; errors
// and exit codes.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "codi/fake_teacher.h"
#include "codi/test_util.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using nlohmann::json;
using odlm::testing::OdlmBinary;
using odlm::testing::RunProcess;
using odlm::testing::Spawned;
namespace ct = odlm::codi::testing;

class CodiCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = dir_.file("graph.json");
    std::ofstream(graph_) << ct::QaGraphJson().dump(1);
    docs_ = dir_.file("docs.jsonl");
    ct::WriteDocsFile(docs_, ct::TestDocs());
  }
  std::vector<std::string> Synth(const std::string& out, int n,
                                 std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {
        OdlmBinary(),      "codi",         "synth",   "--graph",      graph_,  "--docs",     docs_,
        "--teacher",       teacher_.url(), "--model", "fake-t",       "--out", out,          "-n",
        std::to_string(n), "--seed",       "3",       "--retry-base", "0.01",  "--progress", "0.2"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  size_t CompleteLines(const std::string& path) {
    const std::string t = ct::ReadAll(path);
    size_t n = 0;
    for (char c : t) n += c == '\n';
    return n;
  }
  codi::FakeTeacher teacher_;
  ct::TempDir dir_;
  std::string graph_, docs_;
};

TEST_F(CodiCliTest, KillNineThenResumeGivesExactlyNUniqueConversations) {
  const int n = 240;
  // The reference: one uninterrupted run.
  auto ref = RunProcess(Synth(dir_.file("ref.jsonl"), n, {"--concurrency", "8"}), "", 120);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  const auto expected = ct::RecordsById(dir_.file("ref.jsonl"), /*strip_attempts=*/true);
  ASSERT_EQ(expected.size(), static_cast<size_t>(n));

  // The crashed run: small durable batches, a slower teacher, kill -9 part-way.
  teacher_.SetLatency(0.004);
  teacher_.FaultEvery(13, {codi::Fault::kHttp, 503});  // retries in flight when killed
  const std::string out = dir_.file("out.jsonl");
  {
    Spawned p(Synth(out, n, {"--concurrency", "8", "--batch-lines", "3"}));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (CompleteLines(out) < 60 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    p.Signal(SIGKILL);
    EXPECT_EQ(p.Wait(10), 128 + SIGKILL);
  }
  const std::string before = ct::ReadAll(out);
  const size_t written = CompleteLines(out);
  ASSERT_GE(written, 60u);
  ASSERT_LT(written, static_cast<size_t>(n)) << "the run finished before the kill";
  // Whatever the kill left, simulate the worst case too: a torn half line at the end.
  std::string prefix = before.substr(0, before.rfind('\n') + 1);
  {
    std::ofstream f(out, std::ios::binary | std::ios::app);
    if (before.back() == '\n') f << ct::Lines(before)[0].substr(0, 50);
  }
  teacher_.SetLatency(0);
  auto resumed = RunProcess(Synth(out, n, {"--concurrency", "8", "--resume"}), "", 120);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("already written"), std::string::npos);
  EXPECT_NE(resumed.err.find("cut a torn last line"), std::string::npos) << resumed.err;

  const std::string after = ct::ReadAll(out);
  EXPECT_EQ(after.compare(0, prefix.size(), prefix), 0) << "append-only: the kept lines changed";
  const auto lines = ct::Lines(after);
  ASSERT_EQ(lines.size(), static_cast<size_t>(n));
  EXPECT_EQ(after.back(), '\n');
  std::set<std::string> ids;
  for (const auto& l : lines) {
    const json j = json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "torn line: " << l.substr(0, 80);
    EXPECT_TRUE(ids.insert(j["id"].get<std::string>()).second) << "duplicate " << j["id"];
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  // Same conversations as the uninterrupted run (the teacher is deterministic in prompt and seed).
  // Retries of transport faults reuse the sampling seed, so only attempt counts differ.
  EXPECT_EQ(ct::RecordsById(out, true), expected);
}

TEST_F(CodiCliTest, ShardsUnionEqualsSingleRun) {
  ASSERT_EQ(RunProcess(Synth(dir_.file("all.jsonl"), 30)).exit_code, 0);
  std::map<std::string, json> merged;
  for (int k = 0; k < 4; ++k) {
    const std::string out = dir_.file("s" + std::to_string(k) + ".jsonl");
    auto r = RunProcess(Synth(out, 30, {"--shard", std::to_string(k) + "/4"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (auto& [id, rec] : ct::RecordsById(out)) EXPECT_TRUE(merged.emplace(id, rec).second);
  }
  EXPECT_EQ(merged, ct::RecordsById(dir_.file("all.jsonl")));
}

TEST_F(CodiCliTest, SigintStopsResumably) {
  teacher_.SetLatency(0.02);
  const std::string out = dir_.file("int.jsonl");
  Spawned p(Synth(out, 200, {"--concurrency", "4"}));
  // Interrupt once conversations are being written (bounded wait on the file, not a fixed sleep:
  // a loaded machine may take longer to start, and then a fixed sleep would interrupt nothing).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ct::Lines(ct::ReadAll(out)).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(ct::Lines(ct::ReadAll(out)).empty()) << "no conversation written in 60 s";
  p.Signal(SIGINT);
  EXPECT_EQ(p.Wait(30), 1);
  EXPECT_NE(p.err().find("--resume"), std::string::npos) << p.err();
  EXPECT_NE(p.err().find("codi: "), std::string::npos);  // progress lines
  const size_t got = ct::Lines(ct::ReadAll(out)).size();
  EXPECT_LT(got, 200u);
  teacher_.SetLatency(0);
  auto r = RunProcess(Synth(out, 200, {"--resume"}), "", 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ct::RecordsById(out).size(), 200u);
}

TEST_F(CodiCliTest, StatsAndExport) {
  const std::string out = dir_.file("se.jsonl");
  ASSERT_EQ(RunProcess(Synth(out, 20)).exit_code, 0);
  auto s = RunProcess({OdlmBinary(), "codi", "stats", out, "--graph", graph_, "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json j = json::parse(s.out);
  EXPECT_EQ(j["conversations"]["ok"], 20);
  auto t = RunProcess({OdlmBinary(), "codi", "stats", out});
  EXPECT_NE(t.out.find("conversations: 20 (ok 20, failed 0)"), std::string::npos) << t.out;
  for (const std::string fmt : {"hf", "sharegpt", "odlm"}) {
    const std::string e = dir_.file("e_" + fmt + ".jsonl");
    auto r = RunProcess({OdlmBinary(), "codi", "export", out, "--format", fmt, "--out", e});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ct::Lines(ct::ReadAll(e)).size(), 20u);
  }
  const json odlm = json::parse(ct::Lines(ct::ReadAll(dir_.file("e_odlm.jsonl")))[0]);
  EXPECT_EQ(odlm["text"].get<std::string>().rfind("[CONTEXT]", 0), 0u);
}

// "Zero-shot web" mode and seed files through the CLI: a directory of Markdown/text files becomes
// passages, the seed file's examples reach the teacher's prompts, and --resume refuses other
// documents (the run's fingerprint is of the documents, not of how they were stored).
TEST_F(CodiCliTest, TextCorpusAndSeedFile) {
  const std::string corpus = dir_.file("corpus");
  std::filesystem::create_directories(corpus + "/notes");
  std::ofstream(corpus + "/mill.md") << "# The mill\n\nThe **old mill** by the river was built in "
                                        "1820 and ground wheat for the village.\n";
  std::ofstream(corpus + "/notes/train.txt")
      << "The night train leaves the capital at ten.\n\nIt reaches the coast before dawn, "
         "and the first ferry waits there for the passengers.\n";
  const std::string seeds = dir_.file("seeds.jsonl");
  std::ofstream(seeds) << "{\"link\": \"q\", \"text\": \"Seedfile example, who ran it?\"}\n";
  const std::string out = dir_.file("web.jsonl");
  std::vector<std::string> args = Synth(out, 12, {"--seeds", seeds, "--passage-chars", "80"});
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--docs") args[i + 1] = corpus;
  }
  auto r = RunProcess(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> doc_ids;
  for (const std::string& line : ct::Lines(ct::ReadAll(out))) {
    const json rec = json::parse(line);
    EXPECT_EQ(rec["status"], "ok") << line;
    doc_ids.insert(rec["doc_id"].get<std::string>());
    const std::string context = rec["turns"][0]["text"];
    EXPECT_LE(context.size(), 80u);
    EXPECT_EQ(context.find("**"), std::string::npos);  // Markdown emphasis is gone
  }
  // The mill: its heading and its paragraph; the train: a short paragraph, then one of 85 bytes cut
  // at a space.
  EXPECT_EQ(doc_ids, (std::set<std::string>{"mill.md#1", "mill.md#2", "notes/train.txt#1",
                                            "notes/train.txt#2", "notes/train.txt#3"}));
  bool seed_sent = false;
  for (const std::string& body : teacher_.bodies()) {
    seed_sent |= body.find("Seedfile example") != std::string::npos;
  }
  EXPECT_TRUE(seed_sent);
  // The same run resumes; other documents are refused.
  args.push_back("--resume");
  EXPECT_EQ(RunProcess(args).exit_code, 0);
  std::ofstream(corpus + "/extra.txt") << "A new file.\n";
  auto other = RunProcess(args);
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("docs"), std::string::npos) << other.err;
}

TEST_F(CodiCliTest, ErrorsAndExitCodes) {
  auto r = RunProcess(Synth(dir_.file("x.jsonl"), 5, {"--shard", "4/4"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("0 <= k < N"), std::string::npos);
  r = RunProcess(Synth(dir_.file("x.jsonl"), 5, {"--api-key-env", "ODLM_CODI_TEST_NO_SUCH_VAR"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not set"), std::string::npos);
  auto args = Synth(dir_.file("x.jsonl"), 5);
  args[4] = dir_.file("missing.yaml");
  r = RunProcess(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.yaml"), std::string::npos);
  ASSERT_EQ(RunProcess(Synth(dir_.file("y.jsonl"), 5)).exit_code, 0);
  r = RunProcess(Synth(dir_.file("y.jsonl"), 5));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pass --resume"), std::string::npos);
  // A teacher that refuses everything: every conversation fails, with its reason; exit 1.
  teacher_.FaultEvery(1, {codi::Fault::kHttp, 401});
  r = RunProcess(Synth(dir_.file("z.jsonl"), 4));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("every conversation failed"), std::string::npos);
  auto s = RunProcess({OdlmBinary(), "codi", "stats", dir_.file("z.jsonl"), "--json"});
  EXPECT_EQ(json::parse(s.out)["failures_by_reason"]["http_401"], 4);
  r = RunProcess({OdlmBinary(), "codi", "export", dir_.file("z.jsonl"), "--format", "csv", "--out",
                  dir_.file("e")});
  EXPECT_EQ(r.exit_code, 2);
  r = RunProcess({OdlmBinary(), "codi"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace odlm
