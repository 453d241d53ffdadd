// tests/adapters_cli_test.cc — LoRA adapters through the real `odlm` binary: --lora
// [NAME=]FILE[:SCALE] on run, `odlm adapters info|merge|bake` on files the test writes, and
// composite tasks (`run --compose`) equal to running their stages by hand.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/llama_model.h"
#include "tests/support/lora_fixtures.h"
#include "tests/support/shared_testdata.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using odlm::testing::OdlmBinary;
using odlm::testing::ProcessResult;
using odlm::testing::RunProcess;
using odlm::testing::SharedTestdataPath;

const char* kPrompt = "Once upon a time";

class AdaptersCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_SHARED_TESTDATA();
    model_ = SharedTestdataPath("models/tiny-llama-f32.gguf");
    a_ = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::string(tmp ? tmp : "/tmp");
    b_ = dir_ + "/cli_b.gguf";
    auto file = GgufFile::Open(model_);
    ASSERT_TRUE(file.ok());
    auto model = LlamaModel::Load(**file);
    ASSERT_TRUE(model.ok());
    ASSERT_TRUE(odlm::testing::WriteVariantAdapter(a_, (*model)->LoraBase(), b_).ok());
  }
  // `odlm run` on the tiny model: greedy, 12 tokens, no early stop, plus `extra`.
  ProcessResult Run(std::vector<std::string> extra, const std::string& prompt = kPrompt) {
    std::vector<std::string> argv = {OdlmBinary(), "run", "-m", model_, "-t",           "2",
                                     "--temp",     "0",   "-n", "12",   "--ignore-eos", "-p",
                                     prompt};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv);
  }
  // The generated text of a successful run (without the final newline).
  std::string Text(std::vector<std::string> extra, const std::string& prompt = kPrompt) {
    ProcessResult r = Run(std::move(extra), prompt);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  ProcessResult Adapters(std::vector<std::string> args) {
    args.insert(args.begin(), {OdlmBinary(), "adapters"});
    return RunProcess(args);
  }
  std::string model_, a_, b_, dir_;
};

TEST_F(AdaptersCliTest, LoraFileScaleOnRun) {
  const std::string base = Text({"--ids"});
  const std::string full = Text({"--ids", "--lora", a_});
  ASSERT_FALSE(base.empty());
  EXPECT_NE(full, base);
  EXPECT_EQ(Text({"--ids", "--lora", a_ + ":1"}), full);
  EXPECT_EQ(Text({"--ids", "--lora", "sum=" + a_ + ":1"}), full);  // named: same adapter
  EXPECT_EQ(Text({"--ids", "--lora", a_ + ":0"}), base);           // scale 0 is the base model
  const std::string neg = Text({"--ids", "--lora", a_ + ":-2"});
  EXPECT_NE(neg, base);
  EXPECT_NE(neg, full);
  // Two adapters apply together (a at 1 and a's variant at 0 is a alone).
  EXPECT_EQ(Text({"--ids", "--lora", a_, "--lora", b_ + ":0"}), full);
  EXPECT_NE(Text({"--ids", "--lora", a_, "--lora", b_}), full);

  ProcessResult bad = Run({"--lora", a_ + ":1.x"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("is not a number"), std::string::npos) << bad.err;
  ProcessResult missing = Run({"--lora", dir_ + "/none.gguf"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("none.gguf"), std::string::npos) << missing.err;
  ProcessResult twice = Run({"--lora", "x=" + a_, "--lora", "x=" + b_});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("'x'"), std::string::npos) << twice.err;
}

TEST_F(AdaptersCliTest, InfoMergeAndBakeOnFilesTheTestWrites) {
  ProcessResult info = Adapters({"info", "-m", model_, a_, b_});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find(a_ + ": rank 8, alpha 16"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(b_ + ": rank 8"), std::string::npos) << info.out;

  // merge: a file that loads and applies like the in-process merge does (the compose test below
  // checks the tokens); cat of a and b at weights 1 equals both adapters applied unmerged.
  const std::string cat = dir_ + "/cat.gguf";
  ProcessResult merge = Adapters({"merge", "-m", model_, "--method", "cat", "-o", cat, a_, b_});
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_NE(merge.out.find("rank 16"), std::string::npos) << merge.out;
  EXPECT_EQ(Text({"--ids", "--lora", cat}), Text({"--ids", "--lora", a_, "--lora", b_}));

  // bake: the model with a folded in (F32 kept) generates what the unmerged adapter does.
  const std::string baked = dir_ + "/baked.gguf";
  ProcessResult bake = Adapters({"bake", "-m", model_, "--lora", a_ + ":0.7", "-o", baked});
  ASSERT_EQ(bake.exit_code, 0) << bake.err;
  const std::string unmerged = Text({"--ids", "--lora", a_ + ":0.7"});
  EXPECT_NE(unmerged, Text({"--ids"}));
  ProcessResult from_baked = RunProcess({OdlmBinary(), "run", "-m", baked, "-t", "2", "--temp", "0",
                                         "-n", "12", "--ignore-eos", "-p", kPrompt, "--ids"});
  ASSERT_EQ(from_baked.exit_code, 0) << from_baked.err;
  EXPECT_EQ(from_baked.out, unmerged + "\n");

  // Errors: an adapter of another model's shapes, a missing file, an unknown method.
  const std::string other = dir_ + "/other.gguf";
  ProcessResult gen =
      RunProcess({OdlmBinary(), "gen-model", "-o",     other,        "--dim",  "64",    "--layers",
                  "2",          "--heads",   "4",      "--kv-heads", "2",      "--ffn", "128",
                  "--vocab",    "512",       "--type", "f32",        "--seed", "3"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ProcessResult mismatch = Adapters({"info", "-m", other, a_});
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_NE(mismatch.err.find("tiny-llama-lora-r8.gguf"), std::string::npos) << mismatch.err;
  ProcessResult no_file = Adapters({"merge", "-m", model_, "-o", cat, dir_ + "/nope.gguf"});
  EXPECT_EQ(no_file.exit_code, 1);
  EXPECT_NE(no_file.err.find("nope.gguf"), std::string::npos) << no_file.err;
  EXPECT_EQ(Adapters({"merge", "-m", model_, "--method", "avg", "-o", cat, a_}).exit_code, 2);
}

TEST_F(AdaptersCliTest, ComposeTwoPassEqualsTheStagesRunByHand) {
  const std::string tmpl = "Summary: {output}\nAgain:";
  ProcessResult r = Run({"--lora", "a=" + a_, "--lora", "b=" + b_ + ":0.8", "--compose", "a,b",
                         "--mode", "two-pass", "--stage-template", tmpl, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  ASSERT_EQ(j["stages"].size(), 2u);

  const std::string first = Text({"--lora", a_});
  const std::string second = Text({"--lora", b_ + ":0.8"}, "Summary: " + first + "\nAgain:");
  EXPECT_EQ(j["stages"][0]["text"], first);
  EXPECT_EQ(j["stages"][1]["prompt"], "Summary: " + first + "\nAgain:");
  EXPECT_EQ(j["text"], second);
  EXPECT_EQ(j["mode"], "two-pass");
  EXPECT_EQ(j["completion_tokens"], 24);
  EXPECT_EQ(j["stages"][1]["adapters"][0]["name"], "b");
  EXPECT_FLOAT_EQ(j["stages"][1]["adapters"][0]["scale"].get<float>(), 0.8f);
  for (const auto& s : j["stages"]) {
    EXPECT_GT(s["prefill_ms"].get<double>(), 0.0);
    EXPECT_GT(s["decode_ms"].get<double>(), 0.0);
  }
  // Without --json: the final text.
  EXPECT_EQ(Text({"--lora", "a=" + a_, "--lora", "b=" + b_ + ":0.8", "--compose", "a,b",
                  "--stage-template", tmpl}),
            second);
}

TEST_F(AdaptersCliTest, ComposeMergedEqualsTheFileFromAdaptersMerge) {
  const std::string merged = dir_ + "/ab.gguf";
  ProcessResult m = Adapters({"merge", "-m", model_, "-o", merged, a_ + ":0.5", b_ + ":1"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const std::string from_file = Text({"--lora", merged});
  ProcessResult r = Run({"--lora", "a=" + a_ + ":0.5", "--lora", "b=" + b_, "--compose", "a,b",
                         "--mode", "merged", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["text"], from_file);
  EXPECT_EQ(j["stages"].size(), 1u);
  EXPECT_GT(j["merge_ms"].get<double>(), 0.0);
  EXPECT_NE(from_file, Text({}));
  // Another method is another merge.
  ProcessResult ties = Run({"--lora", "a=" + a_ + ":0.5", "--lora", "b=" + b_, "--compose", "a,b",
                            "--mode", "merged", "--merge-method", "ties", "--json"});
  ASSERT_EQ(ties.exit_code, 0) << ties.err;
  EXPECT_NE(nlohmann::json::parse(ties.out, nullptr, false)["text"], from_file);
}

TEST_F(AdaptersCliTest, ComposeUsageErrors) {
  const std::vector<std::string> lora = {"--lora", "a=" + a_, "--lora", "b=" + b_};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = lora;
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  };
  ProcessResult unknown = with({"--compose", "a,zz"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("'zz'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("a, b"), std::string::npos) << unknown.err;  // lists the names
  ProcessResult one = with({"--compose", "a"});
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_NE(one.err.find("two stages"), std::string::npos) << one.err;
  ProcessResult drops = with({"--compose", "a,b", "--stage-template", "no output here"});
  EXPECT_EQ(drops.exit_code, 2);
  EXPECT_NE(drops.err.find("{output}"), std::string::npos) << drops.err;
  EXPECT_EQ(with({"--compose", "a,b", "--mode", "three-pass"}).exit_code, 2);
  EXPECT_EQ(with({"--compose", "a,b", "--ids"}).exit_code, 2);
  ProcessResult counts = with({"--compose", "a,b,a", "--stage-template", "{output}",
                               "--stage-template", "x {output}", "--stage-template", "y {output}"});
  EXPECT_EQ(counts.exit_code, 2);
  EXPECT_NE(counts.err.find("3 times"), std::string::npos) << counts.err;
}

TEST_F(AdaptersCliTest, BenchComposeAndBenchAdaptersReport) {
  ProcessResult c =
      RunProcess({OdlmBinary(), "bench-compose", "-m", model_, "-t", "2", "--lora", "a=" + a_,
                  "--lora", "b=" + b_, "--compose", "a,b", "-n", "4", "-r", "2", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const nlohmann::json j = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << c.out;
  EXPECT_EQ(j["base"]["generated_tokens"], 4);
  EXPECT_EQ(j["two_pass"]["generated_tokens"], 8);  // both passes
  EXPECT_EQ(j["merged"]["generated_tokens"], 4);
  for (const char* mode : {"base", "two_pass", "merged"}) {
    EXPECT_GT(j[mode]["total_ms"].get<double>(), 0.0) << mode;
  }
  EXPECT_GT(j["merge_build_ms"].get<double>(), 0.0);

  ProcessResult a = RunProcess({OdlmBinary(),
                                "bench-adapters",
                                "-m",
                                model_,
                                "-t",
                                "2",
                                "--lora",
                                a_,
                                "--random-lora",
                                "2",
                                "--random-rank",
                                "4",
                                "-p",
                                "4",
                                "-n",
                                "4",
                                "-b",
                                "3",
                                "-r",
                                "1",
                                "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const nlohmann::json k = nlohmann::json::parse(a.out, nullptr, false);
  ASSERT_TRUE(k.is_object()) << a.out;
  EXPECT_EQ(k["adapters"], 3);
  ASSERT_EQ(k["results"].size(), 6u);
  EXPECT_EQ(k["results"][2]["config"], "single, 3 adapters");
  EXPECT_EQ(k["results"][5]["config"], "batch 3, mixed adapters");
  for (const auto& row : k["results"]) EXPECT_GT(row["decode_tok_s"].get<double>(), 0.0);
  // Without adapters there is nothing to compare.
  EXPECT_EQ(RunProcess({OdlmBinary(), "bench-adapters", "-m", model_}).exit_code, 2);
}

}  // namespace
}  // namespace odlm
