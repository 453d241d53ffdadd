// tests/cli_speculative_test.cc — speculative decoding through the CLI as real processes: `odlm
// run` and `odlm chat` print what they print without it (greedy), --verbose reports drafts and
// tokens per pass, a draft model with another vocabulary is refused naming both sizes, and
// `odlm bench --speculative` reports identical outputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using odlm::testing::OdlmBinary;
using odlm::testing::RunProcess;

std::string Source(const std::string& relative) {
  return std::string(ODLM_SOURCE_DIR) + "/" + relative;
}
// The trained default model (2,048 tokens) and the build's random model (512 tokens).
std::string DefaultModel() { return Source("models/odlm-grounded-qa.gguf"); }
std::string RandomModel() { return std::string(ODLM_BINARY_DIR) + "/models/random.gguf"; }

// The random model's shape with F16 weights, whose products give one token and many the same
// arithmetic on every kernel variant (tests/engine_speculative_test.cc): greedy identity is
// exact. (Quantized weights on AVX-512 VNNI agree to rounding only, docs/PERFORMANCE.md.)
const std::string& F16Model() {
  static const std::string* path = [] {
    auto* p = new std::string(std::string(::testing::TempDir()) + "/cli_speculative_f16.gguf");
    auto r = RunProcess({OdlmBinary(), "gen-model", "-o",       *p,    "--arch",  "llama",
                         "--dim",      "256",       "--layers", "4",   "--heads", "4",
                         "--kv-heads", "2",         "--ffn",    "768", "--vocab", "512",
                         "--ctx",      "2048",      "--type",   "f16", "--seed",  "1234"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p;
  }();
  return *path;
}

TEST(CliSpeculativeTest, RunPrintsTheSameAnswerAndReportsDrafts) {
  const std::vector<std::string> base = {
      OdlmBinary(), "run",
      "-m",         F16Model(),
      "-n",         "40",
      "--context",  Source("examples/documents/zeivar-river.txt"),
      "-p",         "Who drew the first map of the Zeivar River?",
      "--temp",     "0"};
  auto plain = RunProcess(base);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  std::vector<std::string> spec = base;
  // The model itself as its draft model: drafts are accepted, so both drafters take part.
  for (const char* a : {"--lookup-ngram", "3", "--draft-model", "", "--draft-fixed", "-v"}) {
    spec.push_back(a);
  }
  spec[spec.size() - 3] = F16Model();
  auto r = RunProcess(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
  EXPECT_NE(r.err.find("speculative: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tokens per forward pass"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("0 drafted"), std::string::npos) << r.err;
}

TEST(CliSpeculativeTest, ADraftModelWithAnotherVocabularyIsRefused) {
  auto r = RunProcess({OdlmBinary(), "run", "-m", DefaultModel(), "--draft-model", RandomModel(),
                       "-p", "Hello", "-n", "4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("512"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2048"), std::string::npos) << r.err;
}

TEST(CliSpeculativeTest, ChatAnswersAsWithoutDrafts) {
  const std::string input = "Where does the Zeivar River rise?\nHow long is it?\n";
  const std::vector<std::string> base = {
      OdlmBinary(), "chat", "-m",        F16Model(),
      "-n",         "24",   "--context", Source("examples/documents/zeivar-river.txt"),
      "--temp",     "0"};
  auto plain = RunProcess(base, input);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  std::vector<std::string> spec = base;
  for (const char* a : {"--lookup-ngram", "2", "--draft-fixed"}) spec.push_back(a);
  spec.push_back("--draft-model");
  spec.push_back(F16Model());
  auto r = RunProcess(spec, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
}

TEST(CliSpeculativeTest, BenchReportsIdenticalOutputsAndRates) {
  auto r = RunProcess({OdlmBinary(), "bench", "--speculative", "-m", F16Model(), "--lookup-ngram",
                       "1", "--draft-fixed", "--document", Source("examples/documents/comet.txt"),
                       "-r", "1", "-n", "16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* set : {"grounded", "closed_book"}) {
    SCOPED_TRACE(set);
    EXPECT_EQ(j[set]["prompts"], 5);
    EXPECT_EQ(j[set]["identical_outputs"], 5);
    EXPECT_GT(j[set]["plain_decode_tok_s"].get<double>(), 0.0);
    EXPECT_GE(j[set]["tokens_per_pass"].get<double>(), 1.0);
  }
  // Without a drafter there is nothing to compare: a usage error.
  auto none = RunProcess({OdlmBinary(), "bench", "--speculative"});
  EXPECT_EQ(none.exit_code, 2);
}

}  // namespace
}  // namespace odlm
