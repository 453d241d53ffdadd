// End to end: `odlm tokenizer train` on text and JSONL files written here; the vocabulary it
// writes works with `odlm tokenize` and `odlm gen-model --vocab` (whose model then runs); the
// output is deterministic; bad input fails with the file and line named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "platform/file_util.h"
#include "tests/support/subprocess.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

using RunResult = testing::ProcessResult;

std::string IdsLine(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + "\n";
}

// Lines of pseudo-words (Zipf-distributed syllable words), some with non-ASCII text.
std::vector<std::string> CorpusLines(uint32_t seed, size_t n_lines) {
  const char* syllables[] = {"ka", "to", "ri", "men", "sa", "lo", "ne", "tur", "pi", "da",
                             "ve", "mo", "qu", "el",  "an", "ir", "os", "ul",  "st", "ch"};
  std::mt19937 rng(seed);
  std::vector<std::string> words = {"the", "café", "日本", "🙂", "it's", "42"};
  while (words.size() < 300) {
    std::string w;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) w += syllables[rng() % 20];
    words.push_back(w);
  }
  std::vector<double> weights;
  for (size_t i = 0; i < words.size(); ++i) weights.push_back(1.0 / static_cast<double>(i + 1));
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  std::vector<std::string> lines;
  for (size_t l = 0; l < n_lines; ++l) {
    std::string s;
    for (int i = 0, n = 4 + static_cast<int>(rng() % 12); i < n; ++i) {
      s += (i ? " " : "") + words[pick(rng)];
    }
    lines.push_back(s + ".");
  }
  return lines;
}

class TokenizerTrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("odlm_tokenizer_train_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream text(Path("corpus.txt"));
    std::ofstream jsonl(Path("corpus.jsonl"));
    for (const std::string& line : CorpusLines(1, 3000)) {
      text << line << "\n";
      jsonl << "{\"id\": 1, \"content\": \"" << line << "\\n\"}\n";
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RunResult Odlm(const std::string& args) { return testing::RunOdlm(args, "", 120); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  std::string Read(const std::string& name) {
    auto s = ReadFileToString(Path(name));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : "";
  }
  std::unique_ptr<Tokenizer> Load(const std::string& name) {
    auto file = GgufFile::Open(Path(name));
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return nullptr;
    auto tok = Tokenizer::FromGguf(**file);
    EXPECT_TRUE(tok.ok()) << tok.status().ToString();
    return tok.ok() ? std::move(tok).value() : nullptr;
  }

  std::filesystem::path dir_;
};

TEST_F(TokenizerTrainCliTest, TrainTokenizeAndGenModel) {
  RunResult r = Odlm("tokenizer train --input " + Path("corpus.txt") +
                     " --vocab-size 600 --threads 2 --out " + Path("vocab.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + Path("vocab.gguf") + ": 600 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("corpus.txt"), std::string::npos) << r.err;
  auto file = GgufFile::Open(Path("vocab.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_EQ(*(*file)->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*(*file)->GetString("tokenizer.ggml.pre"), "gpt-2");
  EXPECT_NE((*file)->FindValue("tokenizer.chat_template"), nullptr);  // ChatML by default
  auto tok = Load("vocab.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->n_vocab(), 600);
  EXPECT_EQ(tok->TokenText(tok->bos_id()), "<|endoftext|>");
  EXPECT_EQ(tok->TokenText(tok->eos_id()), "<|im_end|>");
  EXPECT_TRUE(tok->add_bos());

  // odlm tokenize on the vocabulary: the library's ids, far fewer than the bytes.
  std::string text;  // a line without "'" (the test's argument quoting)
  for (const std::string& line : CorpusLines(2, 50)) {
    if (text.empty() && line.find('\'') == std::string::npos && line.size() > 40) text = line;
  }
  ASSERT_FALSE(text.empty());
  const std::vector<int32_t> ids = tok->Encode(text, true, false);
  EXPECT_LT(ids.size() * 2, text.size());
  r = Odlm("tokenize -m " + Path("vocab.gguf") + " '" + text + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, IdsLine(ids));
  r = Odlm("tokenize --no-bos --parse-special -m " + Path("vocab.gguf") + " '<|im_start|>'");
  EXPECT_EQ(r.out, IdsLine({tok->FindToken("<|im_start|>")}));

  // gen-model copies it; the model loads, tokenizes the same and generates.
  r = Odlm("gen-model -o " + Path("model.gguf") +
           " --dim 64 --layers 1 --heads 2 --kv-heads 1 --ffn 64 --type q8_0 --vocab " +
           Path("vocab.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Odlm("tokenize -m " + Path("model.gguf") + " '" + text + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, IdsLine(ids));
  r = Odlm("run -m " + Path("model.gguf") + " --temp 0 -n 4 -c 128 -p '" + text + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(TokenizerTrainCliTest, DeterministicAcrossRunsAndThreads) {
  ASSERT_EQ(Odlm("tokenizer train --input " + Path("corpus.txt") + " --vocab-size 500 -t 1 --out " +
                 Path("a.gguf"))
                .exit_code,
            0);
  ASSERT_EQ(Odlm("tokenizer train --input " + Path("corpus.txt") + " --vocab-size 500 -t 2 --out " +
                 Path("b.gguf"))
                .exit_code,
            0);
  EXPECT_EQ(Read("a.gguf"), Read("b.gguf"));
}

TEST_F(TokenizerTrainCliTest, JsonlWithOptions) {
  RunResult r = Odlm("tokenizer train --input " + Path("corpus.jsonl") +
                     " --field content --vocab-size 700 --min-frequency 3 --special '<s>' "
                     "--special '</s>' --special '<|user|>' --bos '<s>' --eos '</s>' "
                     "--special-type user --chat-template none --out " +
                     Path("v.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tok = Load("v.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->bos_id(), 256);
  EXPECT_EQ(tok->eos_id(), 257);
  EXPECT_EQ(tok->vocab().pad_id, -1);
  EXPECT_TRUE(tok->vocab().chat_template.empty());
  EXPECT_EQ(tok->GetTokenType(258), TokenType::kUserDefined);
  EXPECT_EQ(tok->Encode("<|user|>", false, false), (std::vector<int32_t>{258}));
  EXPECT_LE(tok->n_vocab(), 700);

  // The same documents as a text file give the same vocabulary (each line ends at "\n" and the
  // next starts with a letter: a safe cut, so the words are the same).
  r = Odlm("tokenizer train --input " + Path("corpus.txt") +
           " --vocab-size 700 --min-frequency 3 --special '<s>' --special '</s>' --special "
           "'<|user|>' --bos '<s>' --eos '</s>' --special-type user --chat-template none --out " +
           Path("t.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Read("v.gguf"), Read("t.gguf"));
}

TEST_F(TokenizerTrainCliTest, BadInputNamesFileAndLine) {
  std::ofstream(Path("bad.jsonl")) << "{\"text\": \"fine\"}\n\n{\"text\": \"also fine\"}\n{oops\n";
  RunResult r = Odlm("tokenizer train --input " + Path("bad.jsonl") + " --vocab-size 300 --out " +
                     Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.jsonl:4: not valid JSON"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(Path("x.gguf")));

  std::ofstream(Path("nofield.jsonl")) << "{\"text\": \"fine\"}\n{\"body\": \"x\"}\n";
  r = Odlm("tokenizer train --input " + Path("nofield.jsonl") + " --vocab-size 300 --out " +
           Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nofield.jsonl:2: no field 'text'"), std::string::npos) << r.err;

  std::ofstream(Path("number.jsonl")) << "{\"text\": 5}\n";
  r = Odlm("tokenizer train --input " + Path("number.jsonl") + " --vocab-size 300 --out " +
           Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("number.jsonl:1: field 'text' is a number"), std::string::npos) << r.err;

  r = Odlm("tokenizer train --input " + Path("missing.txt") + " --vocab-size 300 --out " +
           Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.txt"), std::string::npos) << r.err;

  r = Odlm("tokenizer train --input " + Path("corpus.txt") + " --vocab-size 300 --out " +
           Path("no/such/dir/x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no/such/dir"), std::string::npos) << r.err;
}

TEST_F(TokenizerTrainCliTest, UsageErrorsAndHelp) {
  RunResult r = Odlm("tokenizer train --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--vocab-size"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example"), std::string::npos) << r.out;
  EXPECT_EQ(Odlm("tokenizer").exit_code, 2);
  EXPECT_EQ(Odlm("tokenizer train --input " + Path("corpus.txt")).exit_code, 2);  // no --out
  EXPECT_EQ(Odlm("tokenizer train --input " + Path("corpus.txt") +
                 " --vocab-size 500 --format xml --out " + Path("x.gguf"))
                .exit_code,
            2);
  r = Odlm("tokenizer train --input " + Path("corpus.txt") + " --vocab-size 258 --out " +
           Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("vocab size 258"), std::string::npos) << r.err;
  r = Odlm("tokenizer train --input " + Path("corpus.txt") +
           " --vocab-size 500 --special '<a>' --special '<a>' --out " + Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("given twice"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace odlm
