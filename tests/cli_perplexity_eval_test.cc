// tests/cli_perplexity_eval_test.cc — `odlm perplexity` and `odlm eval coqa|quac --model` as
// real processes on the build's default model (and the shared QA samples when present).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/shared_testdata.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using odlm::testing::OdlmBinary;
using odlm::testing::RunProcess;

std::string WriteText(const std::string& name, const std::string& text) {
  const std::string path = std::string(::testing::TempDir()) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CliPerplexityTest, JsonReportsTheChunkConvention) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "The quick brown fox jumps over the lazy dog. ";
  const std::string path = WriteText("ppl.txt", text);
  auto r = RunProcess({OdlmBinary(), "perplexity", "-f", path, "-c", "64", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  const int64_t chunks = j["n_chunks"];
  EXPECT_GE(chunks, 1);
  EXPECT_EQ(j["n_scored"].get<int64_t>(), chunks * (64 - 1 - 32));
  EXPECT_EQ(j["n_chunks"].get<int64_t>(), j["n_tokens"].get<int64_t>() / 64);
  EXPECT_GT(j["ppl"].get<double>(), 1.0);
  EXPECT_NEAR(std::log(j["ppl"].get<double>()), j["mean_nll"].get<double>(), 1e-9);
  // Too short a text for one chunk, a missing file: clear errors, exit 1.
  auto short_text =
      RunProcess({OdlmBinary(), "perplexity", "-f", WriteText("s.txt", "hi"), "-c", "64"});
  EXPECT_EQ(short_text.exit_code, 1);
  EXPECT_NE(short_text.err.find("at least one chunk"), std::string::npos) << short_text.err;
  auto missing = RunProcess({OdlmBinary(), "perplexity", "-f", "/nonexistent.txt"});
  EXPECT_EQ(missing.exit_code, 1);
  auto usage = RunProcess({OdlmBinary(), "perplexity"});
  EXPECT_EQ(usage.exit_code, 2);
}

TEST(CliEvalModelTest, CoqaAndQuacPredictionsScoreWithTheOfficialScorers) {
  REQUIRE_SHARED_TESTDATA();
  const std::string coqa = odlm::testing::SharedTestdataPath("qa/coqa-dev-sample.json");
  const std::string quac = odlm::testing::SharedTestdataPath("qa/quac-val-sample.json");
  const std::string out = std::string(::testing::TempDir()) + "/coqa_preds.json";
  for (const char* history : {"gold", "pred"}) {
    auto r = RunProcess({OdlmBinary(), "eval", "coqa", "--data", coqa, "--history", history,
                         "--out", out, "--max-tokens", "6", "-c", "256"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("12 questions answered"), std::string::npos) << r.err;
    auto s = RunProcess(
        {OdlmBinary(), "eval", "score", "coqa", "--data", coqa, "--preds", out, "--json"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    nlohmann::json j = nlohmann::json::parse(s.out);
    EXPECT_EQ(j["turns"].get<int>(), 12);
    EXPECT_EQ(j["missing_predictions"].get<int>(), 0);
  }
  const std::string qout = std::string(::testing::TempDir()) + "/quac_preds.jsonl";
  auto q = RunProcess({OdlmBinary(), "eval", "quac", "--data", quac, "--out", qout, "--max-tokens",
                       "8", "-c", "512", "--max-batch", "5"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("41 questions answered"), std::string::npos) << q.err;
  auto qs = RunProcess(
      {OdlmBinary(), "eval", "score", "quac", "--data", quac, "--preds", qout, "--json"});
  ASSERT_EQ(qs.exit_code, 0) << qs.err;
  // --adapter changes the model's answers (the shared LoRA on its base model).
  const std::string base = odlm::testing::SharedTestdataPath("models/tiny-llama-f32.gguf");
  const std::string lora = odlm::testing::SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
  const std::string plain = std::string(::testing::TempDir()) + "/plain.json";
  const std::string adapted = std::string(::testing::TempDir()) + "/adapted.json";
  ASSERT_EQ(RunProcess({OdlmBinary(), "eval", "coqa", "--data", coqa, "-m", base, "--out", plain,
                        "--max-tokens", "4", "-c", "256"})
                .exit_code,
            0);
  ASSERT_EQ(RunProcess({OdlmBinary(), "eval", "coqa", "--data", coqa, "-m", base, "--adapter", lora,
                        "--out", adapted, "--max-tokens", "4", "-c", "256"})
                .exit_code,
            0);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_NE(slurp(plain), slurp(adapted));
  auto bad_adapter = RunProcess({OdlmBinary(), "eval", "coqa", "--data", coqa, "--adapter",
                                 "/nonexistent.gguf", "--out", out});
  EXPECT_EQ(bad_adapter.exit_code, 1);
  // Bad arguments.
  auto bad =
      RunProcess({OdlmBinary(), "eval", "coqa", "--data", "/nonexistent.json", "--out", out});
  EXPECT_EQ(bad.exit_code, 1);
  auto usage = RunProcess(
      {OdlmBinary(), "eval", "coqa", "--data", coqa, "--out", out, "--history", "future"});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace odlm
