// `odlm codi synth` end to end with `odlm serve` as the teacher: a small random-weight model on a
// loopback port. Its text is nonsense, so the graph checks nothing about content; the pipeline
// (requests, cleaning, records, stats, export) must still produce N complete conversations.
#include <gtest/gtest.h>

#include <fstream>

#include "codi/test_util.h"
#include "tests/support/server_process.h"

namespace odlm {
namespace {

using nlohmann::json;
using odlm::testing::OdlmBinary;
namespace ct = odlm::codi::testing;

// `odlm ARGS...`; its stdout and stderr (the log a failure prints).
std::string RunOdlm(const std::vector<std::string>& args, int* rc) {
  std::vector<std::string> argv = {OdlmBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const odlm::testing::ProcessResult r = odlm::testing::RunProcess(argv, "", 300);
  *rc = r.exit_code;
  return r.out + r.err;
}

TEST(CodiServeTest, SynthesizesAgainstOdlmServe) {
  odlm::testing::TempDir dir;
  const std::string model = odlm::testing::GenerateSmallModel(dir.path(), 2048);
  odlm::testing::ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model, "--threads", "1", "--parallel", "4"}));
  // The example graph's structure with content checks off and short turns.
  json g = ct::QaGraphJson();
  for (auto& [name, link] : g["links"].items()) {
    if (link.contains("template")) {
      link.erase("check");
      link.erase("min_support");
      link["max_tokens"] = 8;
      link["max_words"] = 1000;
    }
  }
  const std::string graph = dir.path() + "/graph.json", docs = dir.path() + "/docs.jsonl";
  std::ofstream(graph) << g.dump();
  ct::WriteDocsFile(docs, ct::TestDocs());
  const std::string out = dir.path() + "/out.jsonl";
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  int rc = 0;
  std::string log =
      RunOdlm({"codi",    "synth", "--graph",      graph,  "--docs",    docs, "--teacher",     url,
               "--model", "small", "--out",        out,    "-n",        "6",  "--concurrency", "3",
               "--seed",  "9",     "--retry-base", "0.05", "--timeout", "60"},
              &rc);
  ASSERT_EQ(rc, 0) << log;
  const auto recs = ct::RecordsById(out);
  ASSERT_EQ(recs.size(), 6u);
  for (const auto& [id, r] : recs) {
    EXPECT_EQ(r["status"], "ok") << r.dump();
    EXPECT_EQ(r["teacher_model"], "small");
    ASSERT_EQ(r["turns"].size(), r["walk"].size());
    for (const auto& t : r["turns"]) EXPECT_FALSE(t["text"].get<std::string>().empty());
  }
  log = RunOdlm({"codi", "stats", out, "--graph", graph, "--json"}, &rc);
  ASSERT_EQ(rc, 0) << log;
  log = RunOdlm({"codi", "export", out, "--format", "odlm", "--out", dir.path() + "/t.jsonl"}, &rc);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_EQ(ct::Lines(ct::ReadAll(dir.path() + "/t.jsonl")).size(), 6u);
}

}  // namespace
}  // namespace odlm
