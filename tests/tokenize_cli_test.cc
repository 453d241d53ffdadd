// End to end: `odlm tokenize` on a vocabulary-only GGUF written here (and on the shared
// stories260K model): ids match the library, --stdin gives one line per input line, exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "tests/support/shared_testdata.h"
#include "tests/support/subprocess.h"
#include "tokenizer/test_vocabs.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

using RunResult = testing::ProcessResult;

std::string IdsLine(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + "\n";
}

class TokenizeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("odlm_tokenize_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    // A vocabulary-only byte-level BPE file (no tensors).
    vocab_ = testing::MakeBpeVocab(
        {{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}, {" ", "h"}, {" ", "hello"}});
    vocab_.add_bos = true;
    GgufWriter w;
    w.SetString("general.architecture", "llama");
    w.SetString("tokenizer.ggml.model", "gpt2");
    w.SetString("tokenizer.ggml.pre", "gpt-2");
    w.Set("tokenizer.ggml.tokens", GgufValue::StringArray(vocab_.tokens));
    std::vector<int32_t> types;
    for (TokenType t : vocab_.types) types.push_back(static_cast<int32_t>(t));
    w.Set("tokenizer.ggml.token_type", GgufValue::I32Array(types));
    w.Set("tokenizer.ggml.merges", GgufValue::StringArray(vocab_.merges));
    w.SetU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab_.bos_id));
    w.SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab_.eos_id));
    w.SetBool("tokenizer.ggml.add_bos_token", true);
    ASSERT_TRUE(w.WriteFile(Path("vocab.gguf")).ok());
    auto file = GgufFile::Open(Path("vocab.gguf"));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_TRUE((*file)->tensors().empty());
    auto tok = Tokenizer::FromGguf(**file);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = std::move(tok).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `odlm <args>` (words; testing::SplitArgs) with `stdin_text` on its stdin.
  RunResult Odlm(const std::string& args, const std::string& stdin_text = "") {
    return testing::RunOdlm(args, stdin_text);
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  Vocab vocab_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(TokenizeCliTest, PrintsTheIdsOfTheText) {
  RunResult r = Odlm("tokenize -m " + Path("vocab.gguf") + " 'hello hello'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, IdsLine(tok_->Encode("hello hello", true, false)));
  // BOS, "hello" (259), " hello" (261): hand-derived from the merge ranks.
  EXPECT_EQ(r.out, IdsLine({tok_->bos_id(), 259, 261}));
  r = Odlm("tokenize --no-bos -m " + Path("vocab.gguf") + " 'hello hello'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "259 261\n");
}

TEST_F(TokenizeCliTest, StdinGivesOneLinePerInputLine) {
  const std::string input = "hello\n\nsay hello <|im_start|>\nlast line without newline";
  RunResult r = Odlm("tokenize --no-bos --stdin -m " + Path("vocab.gguf"), input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string want;
  for (const char* line : {"hello", "", "say hello <|im_start|>", "last line without newline"}) {
    want += IdsLine(tok_->Encode(line, false, false));
  }
  EXPECT_EQ(r.out, want);
  // --parse-special turns the control-token text into its one id.
  r = Odlm("tokenize --no-bos --parse-special -m " + Path("vocab.gguf") + " '<|im_start|>'");
  EXPECT_EQ(r.out, IdsLine({tok_->FindToken("<|im_start|>")}));
}

TEST_F(TokenizeCliTest, ExitCodes) {
  RunResult r = Odlm("tokenize --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--stdin"), std::string::npos);
  EXPECT_EQ(Odlm("tokenize 'no model'").exit_code, 0);  // the default model, as every command
  EXPECT_EQ(Odlm("tokenize -m " + Path("vocab.gguf")).exit_code, 2);  // no text, no --stdin
  EXPECT_EQ(Odlm("tokenize --stdin -m " + Path("vocab.gguf") + " text").exit_code, 2);
  EXPECT_EQ(Odlm("tokenize --bogus -m " + Path("vocab.gguf") + " x").exit_code, 2);
  r = Odlm("tokenize -m " + Path("missing.gguf") + " x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.gguf"), std::string::npos);
  std::ofstream(Path("junk.gguf")) << "not a gguf file at all";
  EXPECT_EQ(Odlm("tokenize -m " + Path("junk.gguf") + " x").exit_code, 1);
  // A GGUF without a vocabulary.
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  ASSERT_TRUE(w.WriteFile(Path("novocab.gguf")).ok());
  r = Odlm("tokenize -m " + Path("novocab.gguf") + " x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tokenizer.ggml.model"), std::string::npos);
}

TEST_F(TokenizeCliTest, Stories260K) {
  REQUIRE_SHARED_TESTDATA();
  RunResult r = Odlm("tokenize -m " + testing::SharedTestdataPath("models/stories260K.gguf") +
                     " 'Once upon a time'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 403 407 261 378\n");
}

}  // namespace
}  // namespace odlm
