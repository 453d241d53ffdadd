// tests/cli_first_contact_test.cc — what a new user meets first, driven as real processes on real
// files (issue 17): tokenize falls back to the default model; gen-model says the file size before
// writing and reports progress through the generator's callback; bench names its memory figures,
// explains its context and shows its defaults; bench-contexts --json; the eval tables leave out
// domains without turns and say what QuAC's label accuracies are measured against; eval warns about
// a context beyond the model's trained one and fits long prompts by dropping history first; the
// sample files in examples/ score as documented; every subcommand's --help has examples.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"
#include "model_gen/model_generator.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using testing::OdlmBinary;
using testing::ProcessResult;
using testing::RunOdlm;
using testing::RunProcess;

// What odlm loads without -m: the trained model committed in models/ (models/README.md).
std::string DefaultModel() {
  return std::string(ODLM_SOURCE_DIR) + "/models/odlm-grounded-qa.gguf";
}
std::string Examples(const std::string& name) {
  return std::string(ODLM_SOURCE_DIR) + "/examples/" + name;
}

class FirstContact : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("odlm_first_contact_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(Path(name)) << text;
    return Path(name);
  }
  std::filesystem::path dir_;
};

TEST_F(FirstContact, TokenizeUsesTheDefaultModelWithoutM) {
  ASSERT_TRUE(std::filesystem::exists(DefaultModel())) << "the repository ships " << DefaultModel();
  const ProcessResult a = RunProcess({OdlmBinary(), "tokenize", "Hello world"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const ProcessResult b =
      RunProcess({OdlmBinary(), "tokenize", "-m", DefaultModel(), "Hello world"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_FALSE(a.out.empty());
}

TEST_F(FirstContact, GenModelPrintsTheFileSizeBeforeWriting) {
  const std::string out = Path("m.gguf");
  const ProcessResult r = RunOdlm("gen-model -o " + out + " --preset tiny --type q4_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // "writing PATH: llama, N tensors, X MiB, type q4_0" comes first, then "wrote …" with the same
  // size, which is the file's.
  const size_t writing = r.out.find("writing " + out + ": llama, ");
  const size_t wrote = r.out.find("wrote " + out);
  ASSERT_NE(writing, std::string::npos) << r.out;
  ASSERT_NE(wrote, std::string::npos) << r.out;
  EXPECT_LT(writing, wrote);
  char mib[32];
  std::snprintf(mib, sizeof(mib), "%.1f MiB",
                static_cast<double>(std::filesystem::file_size(out)) / (1 << 20));
  EXPECT_NE(r.out.find(mib, writing), std::string::npos) << r.out << " (file: " << mib << ")";
  EXPECT_LT(r.out.find(mib, writing), wrote) << "the size is printed before writing";
}

TEST_F(FirstContact, GeneratorReportsProgressPerTensorUpToTheWholeData) {
  ModelGenOptions o;
  o.n_embd = 64, o.n_layer = 2, o.n_head = 4, o.n_ff = 128, o.n_vocab = 300, o.type = "q8_0";
  std::vector<std::pair<int64_t, uint64_t>> calls;
  int64_t total_tensors = 0;
  uint64_t total_bytes = 0;
  GgufWriter w;
  ASSERT_TRUE(BuildModel(o, nullptr, &w,
                         [&](int64_t done, int64_t total, uint64_t bytes, uint64_t bytes_total) {
                           calls.push_back({done, bytes});
                           total_tensors = total;
                           total_bytes = bytes_total;
                         })
                  .ok());
  EXPECT_TRUE(calls.empty()) << "nothing is produced before the writer writes";
  ASSERT_TRUE(w.WriteFile(Path("p.gguf")).ok());
  ASSERT_EQ(calls.size(), w.tensor_count());
  EXPECT_EQ(total_tensors, static_cast<int64_t>(w.tensor_count()));
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].first, static_cast<int64_t>(i + 1));
    if (i > 0) {
      EXPECT_GT(calls[i].second, calls[i - 1].second);
    }
  }
  EXPECT_EQ(calls.back().second, total_bytes);
  // The tensor data is the file less its header and alignment padding.
  EXPECT_LE(total_bytes, w.FileSize());
  EXPECT_GT(total_bytes, w.FileSize() - 64 * 1024);
  // Writing again starts the count again.
  calls.clear();
  ASSERT_TRUE(w.WriteToString().ok());
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front().first, 1);
}

TEST_F(FirstContact, BenchNamesItsMemoryFiguresContextAndDefaults) {
  const ProcessResult help = RunOdlm("bench --help");
  ASSERT_EQ(help.exit_code, 0);
  for (const char* shown : {"=128", "=64", "=3", "examples:", "trained"}) {
    EXPECT_NE(help.out.find(shown), std::string::npos) << shown << " in:\n" << help.out;
  }
  const ProcessResult r = RunOdlm("bench -p 8 -n 4 -r 1 -t 1 --json", "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n_ctx"].get<int64_t>(), 8 + 4 + 1);
  EXPECT_GT(j["n_ctx_train"].get<int64_t>(), 0);
  // Mapped weights are resident file pages: counted in peak RSS and named apart.
  const double file_mib = j["rss_file_mib"].get<double>();
  const double model_mib =
      static_cast<double>(std::filesystem::file_size(DefaultModel())) / (1 << 20);
  EXPECT_GE(file_mib, 0.5 * model_mib) << "the touched weights are resident";
  EXPECT_GE(j["peak_rss_mib"].get<double>(), file_mib);
  EXPECT_GE(j["process_peak_rss_mib"].get<double>(), j["peak_rss_mib"].get<double>() + 512)
      << "the whole-process figure includes the 1 GiB bandwidth probe";
  const ProcessResult text = RunOdlm("bench -p 8 -n 4 -r 1 -t 1", "", 300);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* shown :
       {"context          13 tokens", "file-backed", "anonymous", "whole process"}) {
    EXPECT_NE(text.out.find(shown), std::string::npos) << shown << " in:\n" << text.out;
  }
}

TEST_F(FirstContact, BenchContextsJson) {
  const ProcessResult r = RunOdlm(
      "bench-contexts --contexts 2 --min-tokens 16 --max-tokens 32 --calls 3 --choice random "
      "--policies swap --json --swap-dir " +
          Path("swap"),
      "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);  // stdout is the one object, nothing else
  EXPECT_EQ(j["contexts"].get<int>(), 2);
  ASSERT_EQ(j["segments"].size(), 1u);
  const auto& rows = j["segments"][0]["policies"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["policy"], "resident");
  EXPECT_EQ(rows[1]["policy"], "swap");
  EXPECT_EQ(rows[1]["next_token_kl"].get<double>(), 0.0);  // swap restores the KV exactly
  EXPECT_TRUE(rows[1].contains("mean_restore_ms"));
}

TEST_F(FirstContact, CoqaTableLeavesOutDomainsWithoutTurns) {
  const ProcessResult r = RunOdlm("eval score coqa --data " + Examples("eval/coqa_sample.json") +
                                  " --preds " + Examples("eval/coqa_sample_preds.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The sample has wikipedia, cnn, science and reddit stories: no mctest, gutenberg or race.
  EXPECT_NE(r.out.find("wikipedia "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("children_stories "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(no turns in the data from: children_stories, literature, "
                       "mid-high_school)"),
            std::string::npos)
      << r.out;
  const ProcessResult j =
      RunOdlm("eval score coqa --json --data " + Examples("eval/coqa_sample.json") + " --preds " +
              Examples("eval/coqa_sample_preds.json"));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto s = nlohmann::json::parse(j.out);
  EXPECT_TRUE(s["domains"]["mctest"]["f1"].is_null());
  EXPECT_EQ(s["domains"]["mctest"]["turns"].get<int>(), 0);
  EXPECT_TRUE(s["domains"]["cnn"]["f1"].is_number());
  EXPECT_EQ(s["turns"].get<int>(), 23);
  EXPECT_EQ(s["missing_predictions"].get<int>(), 0);

  // Out-of-domain empty: a dash, not 0.0.
  const std::string data = Write("c.json", R"({"version": "1.0", "data": [
    {"source": "cnn", "id": "s1", "story": "Ann has a red bike.",
     "questions": [{"input_text": "What does Ann have?", "turn_id": 1}],
     "answers": [{"input_text": "a red bike", "turn_id": 1}]}]})");
  const std::string preds = Write("p.json", R"([{"id": "s1", "turn_id": 1, "answer": "a bike"}])");
  const ProcessResult t = RunOdlm("eval score coqa --data " + data + " --preds " + preds);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("out_domain               -       -       -       0\n"), std::string::npos)
      << t.out;
  EXPECT_EQ(t.out.find("0.0       0"), std::string::npos) << t.out;
}

TEST_F(FirstContact, QuacLabelAccuraciesSayWhatTheyAreMeasuredAgainst) {
  const ProcessResult r = RunOdlm("eval score quac --data " + Examples("eval/quac_sample.json") +
                                  " --preds " + Examples("eval/quac_sample_preds.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 9 questions; gold yesno: 6 x, 2 y, 1 n; followup: 4 y, 3 n, 2 m. Predictions are all x / y.
  EXPECT_NE(r.out.find("yes/no accuracy      66.7  (exact match with the gold label; 'x' alone "
                       "scores 66.7; every prediction is 'x')"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("follow-up accuracy   44.4  (exact match with the gold label; 'y' alone "
                       "scores 44.4; every prediction is 'y')"),
            std::string::npos)
      << r.out;
  const ProcessResult j =
      RunOdlm("eval score quac --json --data " + Examples("eval/quac_sample.json") + " --preds " +
              Examples("eval/quac_sample_preds.jsonl"));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto s = nlohmann::json::parse(j.out);
  EXPECT_EQ(s["yes_no_majority"]["label"], "x");
  EXPECT_NEAR(s["yes_no_majority"]["accuracy"].get<double>(), 600.0 / 9, 1e-9);
  EXPECT_EQ(s["yes_no_constant_prediction"], "x");
  EXPECT_EQ(s["followup_constant_prediction"], "y");
}

TEST_F(FirstContact, EvalWarnsBeyondTheTrainedContextAndDropsHistoryFirst) {
  // A model trained on 128 tokens.
  const std::string model = Path("short.gguf");
  ASSERT_EQ(RunOdlm("gen-model -o " + model + " --preset tiny --ctx 128 --type q8_0").exit_code, 0);
  const std::string out = Path("preds.json");
  ProcessResult r = RunOdlm("eval coqa --data " + Examples("eval/coqa_sample.json") + " -m " +
                                model + " --max-tokens 8 --out " + out,
                            "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("context 128 tokens (the model's trained context)"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // Every story (~90 words) is longer than 128 - 8 - 1 tokens with this vocabulary: every later
  // turn lost its history, and every prompt its document's beginning.
  EXPECT_NE(r.err.find("23 questions answered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("18 prompts lost history"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("23 lost the beginning of their document, 0 were cut token-wise"),
            std::string::npos)
      << r.err;
  // Beyond the trained context: allowed, with a warning.
  r = RunOdlm("eval coqa --data " + Examples("eval/coqa_sample.json") + " -m " + model +
                  " -c 512 --max-tokens 8 --out " + out,
              "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("odlm eval: warning: context 512 tokens (-c; beyond the 128 tokens the "
                       "model was trained on, answers are unreliable"),
            std::string::npos)
      << r.err;
}

TEST_F(FirstContact, EveryCommandsHelpHasExamples) {
  for (const char* command :
       {"run", "chat", "bench", "bench-serve", "bench-contexts", "bench-adapters", "bench-compose",
        "tokenize", "gen-model", "gguf-info", "perplexity", "eval", "adapters", "codi"}) {
    const ProcessResult r = RunProcess({OdlmBinary(), command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("xample"), std::string::npos) << command << " --help:\n" << r.out;
  }
}

}  // namespace
}  // namespace odlm
