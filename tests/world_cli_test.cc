// tests/world_cli_test.cc — odlm's own grounded-QA pipeline as real processes: `odlm world gen`
// writes a world, `odlm world teacher` serves it on a free loopback port, `odlm codi synth` makes
// conversations with examples/world/grounded_qa_graph.yaml, `odlm codi stats` finds no failures,
// `odlm codi export --format coqa` turns them into an evaluation set, and `odlm eval score coqa`
// of the gold answers against themselves gives F1 100. A few seconds in all.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using nlohmann::json;
using testing::OdlmBinary;
using testing::ProcessResult;
using testing::RunOdlm;
using testing::RunProcess;
using testing::Spawned;

const std::string kGraph = std::string(ODLM_SOURCE_DIR) + "/examples/world/grounded_qa_graph.yaml";

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class WorldCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/odlm_world_cli_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(WorldCliTest, GenIsDeterministicAndHasHelp) {
  for (const char* out : {"a", "b"}) {
    const ProcessResult r =
        RunOdlm("world gen --seed 9 --entities 12 --test-entities 3 --out-dir " + file(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("12 train + 3 test entities"), std::string::npos) << r.out;
  }
  for (const char* f : {"/train.jsonl", "/test.jsonl", "/world.json"}) {
    EXPECT_EQ(ReadAll(file("a") + f), ReadAll(file("b") + f)) << f;
    EXPECT_FALSE(ReadAll(file("a") + f).empty()) << f;
  }
  const ProcessResult help = RunOdlm("world gen --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--test-entities"), std::string::npos);
  EXPECT_NE(help.out.find("odlm world gen --seed"), std::string::npos);
  const ProcessResult teacher_help = RunOdlm("world teacher --help");
  EXPECT_EQ(teacher_help.exit_code, 0);
  EXPECT_NE(teacher_help.out.find("odlm world teacher --world"), std::string::npos);
  EXPECT_EQ(RunOdlm("world gen --entities 0 --out-dir " + file("c")).exit_code, 2);
  const ProcessResult bad = RunOdlm("world teacher --world " + file("missing.json"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("missing.json"), std::string::npos) << bad.err;
  const ProcessResult check = RunOdlm("codi check --graph " + kGraph);
  EXPECT_EQ(check.exit_code, 0) << check.err;
}

TEST_F(WorldCliTest, GenTeacherSynthStatsExportEval) {
  const std::string world = file("world");
  ProcessResult r =
      RunOdlm("world gen --seed 4 --entities 10 --test-entities 4 --out-dir " + world);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  Spawned teacher({OdlmBinary(), "world", "teacher", "--world", world + "/world.json", "--port",
                   "0", "--threads", "8"});
  const std::string first = teacher.ReadOut(20, "\n");
  const size_t at = first.find("127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << "teacher did not start: " << first << teacher.err();
  const int port = std::stoi(first.substr(at + 10));
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  const int n = 16;
  const std::string convs = file("convs.jsonl");
  r = RunProcess({OdlmBinary(),
                  "codi",
                  "synth",
                  "--graph",
                  kGraph,
                  "--docs",
                  world + "/train.jsonl",
                  "--teacher",
                  url,
                  "--model",
                  "odlm-world-teacher",
                  "--out",
                  convs,
                  "-n",
                  std::to_string(n),
                  "--concurrency",
                  "4",
                  "--seed",
                  "2",
                  "--progress",
                  "0",
                  "--retry-base",
                  "0.01",
                  "--max-attempts",
                  "2"},
                 "", 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunOdlm("codi stats " + convs + " --graph " + kGraph + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json stats = json::parse(r.out);
  EXPECT_EQ(stats["conversations"]["ok"], n) << r.out;
  EXPECT_EQ(stats["conversations"]["failed"], 0) << stats["failures_by_reason"].dump();

  const std::string coqa = file("coqa.json");
  r = RunOdlm("codi export " + convs + " --format coqa --out " + coqa);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json data = json::parse(ReadAll(coqa));
  ASSERT_EQ(data["data"].size(), static_cast<size_t>(n));

  // The stories are the documents; refusals became "unknown"; spans point into the story.
  std::map<std::string, std::string> docs;
  {
    std::istringstream lines(ReadAll(world + "/train.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      const json d = json::parse(line);
      docs[d["id"]] = d["text"];
    }
  }
  json preds = json::array();
  int questions = 0, unknown = 0, spans = 0;
  for (const json& story : data["data"]) {
    ASSERT_TRUE(docs.count(story["filename"]));
    EXPECT_EQ(story["story"], docs[story["filename"]]);
    ASSERT_EQ(story["questions"].size(), story["answers"].size());
    ASSERT_GE(story["questions"].size(), 2u);
    for (const json& a : story["answers"]) {
      ++questions;
      const std::string text = a["input_text"];
      unknown += text == "unknown";
      if (a.contains("span_start") && a["span_start"].get<int>() >= 0) {
        ++spans;
        const std::string s = story["story"];
        EXPECT_EQ(s.substr(a["span_start"].get<size_t>(),
                           a["span_end"].get<size_t>() - a["span_start"].get<size_t>()),
                  a["span_text"].get<std::string>());
      }
      preds.push_back({{"id", story["id"]}, {"turn_id", a["turn_id"]}, {"answer", text}});
    }
  }
  EXPECT_GT(questions, 3 * n);
  EXPECT_GT(unknown, 0);
  EXPECT_GT(spans, questions / 2);
  std::ofstream(file("preds.json")) << preds.dump();

  r = RunOdlm("eval score coqa --data " + coqa + " --preds " + file("preds.json") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json scores = json::parse(r.out);
  EXPECT_DOUBLE_EQ(scores["f1"].get<double>(), 100.0) << r.out;
  EXPECT_DOUBLE_EQ(scores["em"].get<double>(), 100.0) << r.out;
  EXPECT_EQ(scores["turns"], questions);

  teacher.Signal(SIGTERM);
  EXPECT_EQ(teacher.Wait(10), 0) << teacher.err();
  EXPECT_NE(teacher.err().find("refused"), std::string::npos) << teacher.err();
}

}  // namespace
}  // namespace odlm
