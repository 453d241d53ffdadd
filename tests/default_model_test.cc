// tests/default_model_test.cc — the shipped default model (models/odlm-grounded-qa.gguf, see
// models/README.md) still does its job through the real binary: README command 1's conversation
// about examples/documents/zeivar-river.txt (a held-out document), answer for answer, and the
// held-out sample (models/odlm-grounded-qa.heldout.json, the first 40 conversations about test
// entities it never saw) at the quality it was released with. A change that breaks the runtime,
// the tokenizer, the chat template, the eval runner or the model file shows up here.
//
// Greedy decoding. The sample's thresholds sit 5 points under the measured figures (gold 63.6,
// pred 63.1, unanswerable 77.3) so that kernels that round differently (AVX-512 vs AVX2) cannot
// flip the result, while a broken model (near 0) cannot pass.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using odlm::testing::OdlmBinary;
using odlm::testing::RunProcess;

std::string Source(const std::string& path) { return std::string(ODLM_SOURCE_DIR) + "/" + path; }
const std::string kModel = Source("models/odlm-grounded-qa.gguf");
const std::string kHeldOut = Source("models/odlm-grounded-qa.heldout.json");
const std::string kDocument = Source("examples/documents/zeivar-river.txt");
constexpr const char* kRefusal = "The document does not say.";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(DefaultModel, IsAStandardSmallGgufWithTheCodiTemplate) {
  ASSERT_TRUE(std::filesystem::exists(kModel)) << kModel;
  EXPECT_LE(std::filesystem::file_size(kModel), 16u << 20) << "the repository's size limit";
  auto f = GgufFile::Open(kModel);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ(*(*f)->GetString("general.name"), "odlm-grounded-qa");
  const auto jinja = (*f)->GetString("tokenizer.chat_template");
  ASSERT_TRUE(jinja.ok());
  EXPECT_NE(jinja->find("[AGENT]"), std::string::npos);
  // What odlm loads without -m: the role tags are single tokens of its vocabulary.
  const auto a = RunProcess({OdlmBinary(), "tokenize", "--show-pieces", "[AGENT] Yes.[/AGENT]"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("'[AGENT]'"), std::string::npos) << "a single token: " << a.out;
  EXPECT_NE(a.out.find("'[/AGENT]'"), std::string::npos) << "a single token: " << a.out;
}

// scripts/demo.sh's questions (one per line of kQuestions), in one conversation, and the answers
// expected: "it" in the follow-ups needs the history, and the length is not in the document.
const std::string kQuestions = Source("examples/documents/zeivar-river.questions.txt");
const std::vector<std::string> kAnswers = {
    "in the Thobair Hills.",
    "the Sea of Digia.",
    "the Keite River and the Eilou River.",
    "Heipusia Pelskoth.",
    "5 bridges.",
    kRefusal,
    "No.",
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DefaultModel, AnswersReadmeCommandOnesConversation) {
  const std::string input = ReadAll(kQuestions);
  const std::vector<std::string> questions = Lines(input);
  ASSERT_EQ(questions.size(), kAnswers.size()) << kQuestions;
  const auto r = RunProcess(
      {OdlmBinary(), "chat", "--context", kDocument, "--temp", "0", "-n", "48", "-t", "2"}, input,
      120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> answers = Lines(r.out);
  ASSERT_EQ(answers.size(), kAnswers.size()) << r.out;
  for (size_t i = 0; i < kAnswers.size(); ++i) {
    EXPECT_EQ(answers[i], kAnswers[i]) << questions[i];
  }
  // `odlm run --context` asks the first question the same way.
  const auto one = RunProcess({OdlmBinary(), "run", "--context", kDocument, "-p", questions[0],
                               "--temp", "0", "-n", "48", "-t", "2"},
                              "", 120);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_FALSE(Lines(one.out).empty()) << one.out;
  EXPECT_EQ(Lines(one.out)[0], kAnswers[0]);
}

// Runs `odlm eval coqa` over the held-out sample with `history` and returns the score JSON.
nlohmann::json HeldOutScore(const std::string& history) {
  const std::string preds = std::string(::testing::TempDir()) + "/default_model_" +
                            std::to_string(::getpid()) + "_" + history + ".json";
  const auto run = RunProcess({OdlmBinary(), "eval", "coqa", "--data", kHeldOut, "--history",
                               history, "--refusal", kRefusal, "-t", "2", "--out", preds},
                              "", 300);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto score = RunProcess(
      {OdlmBinary(), "eval", "score", "coqa", "--data", kHeldOut, "--preds", preds, "--json"});
  EXPECT_EQ(score.exit_code, 0) << score.err;
  std::filesystem::remove(preds);
  return nlohmann::json::parse(score.out, nullptr, false);
}

TEST(DefaultModel, AnswersHeldOutConversationsAtItsReleasedQuality) {
  ASSERT_TRUE(std::filesystem::exists(kHeldOut)) << kHeldOut;
  const nlohmann::json gold = HeldOutScore("gold");
  ASSERT_TRUE(gold.is_object());
  EXPECT_EQ(gold["turns"].get<int>(), 171);
  EXPECT_GE(gold["recall"].get<double>(), 58.0) << gold.dump();
  EXPECT_GE(gold["unanswerable"]["accuracy"].get<double>(), 72.0) << gold.dump();
  const nlohmann::json pred = HeldOutScore("pred");
  ASSERT_TRUE(pred.is_object());
  EXPECT_GE(pred["recall"].get<double>(), 58.0) << pred.dump();
}

}  // namespace
}  // namespace odlm
