// tests/train_cli_test.cc — `odlm train` as a user runs it, as real processes on real files:
// kill -9 in the middle of a run and --resume ends with a model file byte for byte equal to an
// uninterrupted run; a LoRA fine-tune of the real stories260K model lowers its validation loss and
// `odlm run --lora` then generates from it (GGUF and PEFT outputs alike); bad data and a resume
// with other settings get clear errors and write nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "platform/file_util.h"
#include "tests/support/shared_testdata.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using testing::OdlmBinary;
using testing::RunOdlm;

std::string Tmp(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string Slurp(const std::string& path) {
  auto s = ReadFileToString(path);
  return s.ok() ? *s : "";
}

// Little stories with a fixed pattern (a language stories260K does not know word for word).
std::string Stories(int n) {
  const char* names[] = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna"};
  const char* things[] = {"ball", "cat", "kite", "boat", "cake", "dog"};
  const char* colors[] = {"red", "blue", "green", "yellow", "big", "little"};
  std::string s;
  uint32_t x = 12345;
  auto next = [&] { return (x = x * 1103515245u + 12345u) >> 16; };
  for (int i = 0; i < n; ++i) {
    const std::string who = names[next() % 6], what = things[next() % 6], c = colors[next() % 6];
    s += "Once upon a time, " + who + " had a " + c + " " + what + ". " + who + " loved the " + c +
         " " + what + " very much. Every day, " + who + " played with the " + what +
         " in the park.\n";
  }
  return s;
}

std::vector<nlohmann::json> LogLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(Slurp(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string ScratchArgs(const std::string& dir, const std::string& out = "") {
  return "train full --init " + Tmp("init.json") + " --data " + Tmp("corpus.txt") +
         " --format text --ctx 64 --batch 2 --steps 160 --lr 3e-3 --warmup 5 -t 2 --seed 9" +
         " --checkpoint-every 1 --checkpoint-dir " + dir + " --out " +
         (out.empty() ? dir + "/model.gguf" : out) + " --val-frac 0.1 --eval-every 40 -q";
}

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteText(Tmp("init.json"),
              R"({"arch": "llama", "dim": 96, "layers": 2, "heads": 4, "kv_heads": 2,
                  "ffn": 192, "vocab": 512, "ctx": 128})");
    WriteText(Tmp("corpus.txt"), Stories(120));
  }
};

TEST_F(TrainCliTest, KillNineAndResumeGivesTheUninterruptedModelBitForBit) {
  const auto whole = RunOdlm(ScratchArgs(Tmp("a")), "", 300);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  ASSERT_TRUE(FileExists(Tmp("a/model.gguf")));

  // The same run, killed with SIGKILL once it has logged 30 steps, then resumed.
  std::vector<std::string> argv = {OdlmBinary()};
  for (auto& w : testing::SplitArgs(ScratchArgs(Tmp("b")))) argv.push_back(w);
  int killed_at = 0;
  {
    testing::Spawned p(argv);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string log = Slurp(Tmp("b/model.gguf.train.jsonl"));
      killed_at = static_cast<int>(std::count(log.begin(), log.end(), '\n'));
      if (killed_at >= 30) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    p.Signal(SIGKILL);
    EXPECT_EQ(p.Wait(30), 128 + SIGKILL) << "the run ended before it could be killed";
  }
  ASSERT_GE(killed_at, 30);
  EXPECT_FALSE(FileExists(Tmp("b/model.gguf")));
  // The model of the stopped run, from its checkpoint (same command line), without training.
  const auto partial =
      RunOdlm(ScratchArgs(Tmp("b"), Tmp("b/partial.gguf")) + " --export-checkpoint", "", 60);
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_NE(partial.err.find("from the checkpoint of step"), std::string::npos) << partial.err;
  EXPECT_TRUE(FileExists(Tmp("b/partial.gguf")));
  const auto resumed = RunOdlm(ScratchArgs(Tmp("b")) + " --resume", "", 300);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(Slurp(Tmp("a/model.gguf")), Slurp(Tmp("b/model.gguf")))
      << "resumed model differs from the uninterrupted one";
  // The log holds every step once, with the same losses.
  const auto la = LogLines(Tmp("a/model.gguf.train.jsonl"));
  const auto lb = LogLines(Tmp("b/model.gguf.train.jsonl"));
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ(la[i]["step"], lb[i]["step"]);
    EXPECT_EQ(la[i]["loss"], lb[i]["loss"]) << "step " << la[i]["step"];
  }
  // Held-out loss went down from the start (step 0) to the end.
  ASSERT_TRUE(la.front().contains("val_loss"));
  EXPECT_LT(la.back()["val_loss"].get<double>(), la.front()["val_loss"].get<double>() - 2.0);

  // The finished run's last checkpoint exports to the very model it wrote.
  const auto exported =
      RunOdlm(ScratchArgs(Tmp("a"), Tmp("a/exported.gguf")) + " --export-checkpoint", "", 60);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(Slurp(Tmp("a/exported.gguf")), Slurp(Tmp("a/model.gguf")));
  EXPECT_NE(Slurp(Tmp("b/partial.gguf")), Slurp(Tmp("a/model.gguf")));
  // The trained model loads in every command: it generates text.
  const auto run = RunOdlm("run -m " + Tmp("a/model.gguf") + " -p Once -n 8 --temp 0", "", 60);
  EXPECT_EQ(run.exit_code, 0) << run.err;

  // Resuming with other settings is refused and changes nothing.
  const std::string before = Slurp(Tmp("a/checkpoint.gguf"));
  const auto other = RunOdlm(ScratchArgs(Tmp("a")) + " --resume --weight-decay 0.1", "", 60);
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("other settings"), std::string::npos) << other.err;
  EXPECT_EQ(Slurp(Tmp("a/checkpoint.gguf")), before);
  const auto other_export = RunOdlm(
      ScratchArgs(Tmp("a"), Tmp("a/other.gguf")) + " --export-checkpoint --weight-decay 0.1", "",
      60);
  EXPECT_NE(other_export.exit_code, 0);
  EXPECT_FALSE(FileExists(Tmp("a/other.gguf")));
}

TEST_F(TrainCliTest, BadDataNamesTheLineAndWritesNothing) {
  WriteText(Tmp("bad.jsonl"),
            "{\"id\": \"a\", \"text\": \"[USER]hi[/USER]\", \"segments\": [{\"role\": \"USER\", "
            "\"start\": 0, \"end\": 15, \"weight\": 1}]}\n"
            "{\"id\": \"b\", \"text\": \"[USER]hi[/USER]\", \"segments\": [{\"role\": \"USER\", "
            "\"start\": 0, \"end\": 99, \"weight\": 1}]}\n");
  const auto r = RunOdlm("train full --init " + Tmp("init.json") + " --data " + Tmp("bad.jsonl") +
                             " --format codi --steps 2 --out " + Tmp("bad.gguf"),
                         "", 60);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad.jsonl:2"), std::string::npos) << r.err;
  EXPECT_FALSE(FileExists(Tmp("bad.gguf")));
  const auto usage = RunOdlm("train lora --data x --out y", "", 60);
  EXPECT_EQ(usage.exit_code, 2);
}

TEST_F(TrainCliTest, LoraOnStories260KLowersValidationLossAndRunUsesIt) {
  REQUIRE_SHARED_TESTDATA();
  const std::string base = testing::SharedTestdataPath("models/stories260K.gguf");
  WriteText(Tmp("stories.txt"), Stories(200));
  const auto r =
      RunOdlm("train lora -m " + base + " --data " + Tmp("stories.txt") + " --format text --out " +
                  Tmp("st.gguf") + " --peft-out " + Tmp("st-peft") +
                  " --rank 8 --alpha 16 --lr 5e-3 --steps 40 --ctx 128 --batch 4"
                  " --val-frac 0.1 --eval-every 20 -t 2 --plot " +
                  Tmp("st.svg"),
              "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto log = LogLines(Tmp("st.gguf.train.jsonl"));
  ASSERT_GE(log.size(), 41u);
  const double start = log.front()["val_loss"], end = log.back()["val_loss"];
  EXPECT_LT(end, 0.5 * start) << "validation loss " << start << " -> " << end;
  EXPECT_NE(Slurp(Tmp("st.svg")).find("<polyline"), std::string::npos);

  auto run = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {OdlmBinary(),        "run", "-m", base,     "-p",
                                     "Once upon a time,", "-n",  "24", "--temp", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunProcess(argv, "", 60);
  };
  const auto plain = run({});
  const auto tuned = run({"--lora", Tmp("st.gguf")});
  const auto peft = run({"--lora", Tmp("st-peft")});
  ASSERT_EQ(tuned.exit_code, 0) << tuned.err;
  ASSERT_EQ(peft.exit_code, 0) << peft.err;
  EXPECT_NE(tuned.out, plain.out);
  EXPECT_NE(tuned.out.find(" had a "), std::string::npos) << tuned.out;
  EXPECT_EQ(peft.out, tuned.out);  // the PEFT folder reads back as the same adapter
}

}  // namespace
}  // namespace odlm
