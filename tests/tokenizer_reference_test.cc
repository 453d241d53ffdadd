// The tokenizer against the shared reference data: the prompt tokens of every tiny-* model's
// reference file (llama, qwen2, the Llama-3 BPE of tiny-llama3, the Phi-3 SPM of tiny-phi3, ...),
// stories260K, round trips of random text and streaming on the real Llama-2 and Llama-3
// vocabularies, and chat prompts with real special tokens. SKIPS loudly without ../shared/testdata.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "gguf/gguf_reader.h"
#include "tests/support/shared_testdata.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/streaming_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace odlm {
namespace {

std::unique_ptr<Tokenizer> Load(const std::string& relative) {
  auto file = GgufFile::Open(testing::SharedTestdataPath(relative));
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (!file.ok()) return nullptr;
  auto tok = Tokenizer::FromGguf(**file);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

TEST(TokenizerReference, PromptTokensOfTheReferenceFiles) {
  REQUIRE_SHARED_TESTDATA();
  int checked = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::SharedTestdataPath("reference"))) {
    const std::string name = entry.path().stem().string();  // e.g. tiny-qwen2-q8_0
    if (name.rfind("tiny-", 0) != 0) continue;
    if (name.find('+') != std::string::npos) continue;  // adapter references: same base model
    std::ifstream in(entry.path());
    const nlohmann::json ref = nlohmann::json::parse(in);
    auto tok = Load("models/" + name + ".gguf");
    ASSERT_NE(tok, nullptr) << name;
    const std::vector<int32_t> want = ref.at("tokens").get<std::vector<int32_t>>();
    const std::string prompt = ref.at("prompt").get<std::string>();
    EXPECT_EQ(tok->Encode(prompt, tok->add_bos(), false), want) << name;
    EXPECT_EQ(tok->Decode(want), prompt) << name;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(TokenizerReference, Stories260K) {
  REQUIRE_SHARED_TESTDATA();
  auto tok = Load("models/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("Once upon a time", true, false),
            (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_TRUE(tok->IsEndOfGeneration(2));
}

std::string RandomUtf8(std::mt19937& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    uint32_t cp;
    switch (rng() % 6) {
      case 0:
        cp = 0x80 + rng() % (0x800 - 0x80);
        break;
      case 1:
        cp = 0x800 + rng() % (0xD800 - 0x800);
        break;
      case 2:
        cp = 0x10000 + rng() % 0x100000;
        break;
      default:
        cp = 0x20 + rng() % 0x5F;
        break;
    }
    if (rng() % 10 == 0) cp = "\n\t  "[rng() % 4];
    AppendUtf8(cp, &s);
  }
  return s;
}

TEST(TokenizerReference, RandomTextRoundTripsAndStreamsOnRealVocabularies) {
  REQUIRE_SHARED_TESTDATA();
  std::mt19937 rng(5);
  for (const char* v : {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-bpe.gguf"}) {
    auto tok = Load(v);
    ASSERT_NE(tok, nullptr);
    for (int i = 0; i < 300; ++i) {
      const std::string s = RandomUtf8(rng, 1 + i % 80);
      const std::vector<int32_t> ids = tok->Encode(s, true, false);
      ASSERT_EQ(tok->Decode(ids), s) << v;
      StreamingDecoder dec(*tok);
      std::string streamed;
      for (int32_t id : ids) {
        const std::string part = dec.Push(id);
        ASSERT_TRUE(IsValidUtf8(part)) << v;
        streamed += part;
      }
      EXPECT_EQ(streamed + dec.Flush(), s) << v;
    }
  }
}

TEST(TokenizerReference, ChatPromptsUseTheRealSpecialTokens) {
  REQUIRE_SHARED_TESTDATA();
  auto tok = Load("vocab/ggml-vocab-llama-bpe.gguf");
  ASSERT_NE(tok, nullptr);
  const std::vector<ChatMessage> conv = {{"system", "Be brief."}, {"user", "Hi <|eot_id|>"}};
  auto prompt = RenderChat("llama3", conv, true, ChatSpecialTokensOf(*tok));
  ASSERT_TRUE(prompt.ok());
  auto encoded = EncodeChat(*tok, "llama3", conv, true);
  ASSERT_TRUE(encoded.ok());
  const std::vector<int32_t>& ids = *encoded;
  const int32_t header = tok->FindToken("<|start_header_id|>");
  const int32_t eot = tok->FindToken("<|eot_id|>");
  ASSERT_GE(header, 0);
  EXPECT_EQ(ids.front(), tok->bos_id());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), header), 3);
  // The template's markers are control tokens; the "<|eot_id|>" the user typed stays text, so
  // 2 = the two turns. Tokenizing the rendered string with specials parsed would give 3.
  EXPECT_EQ(std::count(ids.begin(), ids.end(), eot), 2);
  const std::vector<int32_t> forged = tok->Encode(*prompt, tok->add_bos(), true);
  EXPECT_EQ(std::count(forged.begin(), forged.end(), eot), 3);
  EXPECT_EQ(tok->Decode(ids, /*render_special=*/true), tok->TokenText(tok->bos_id()) + *prompt);
  EXPECT_TRUE(tok->IsEndOfGeneration(eot));
  // The same text as plain user input never yields a control token.
  const std::vector<int32_t> plain = tok->Encode(*prompt, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
  EXPECT_EQ(tok->Decode(plain), *prompt);
}

TEST(TokenizerReference, ChatPromptsOfOrdinaryTextMatchTheRenderedString) {
  REQUIRE_SHARED_TESTDATA();
  const std::vector<ChatMessage> conv = {{"system", " You answer in one line. "},
                                         {"context", "Vancouver is in British Columbia."},
                                         {"user", "Where is Vancouver?\n"},
                                         {"assistant", "In BC."},
                                         {"user", "  Population, roughly? 2.6M?"}};
  for (const char* vocab : {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-bpe.gguf"}) {
    auto tok = Load(vocab);
    ASSERT_NE(tok, nullptr) << vocab;
    for (const std::string& name : BuiltinChatTemplates()) {
      auto text = RenderChat(name, conv, true, ChatSpecialTokensOf(*tok));
      auto ids = EncodeChat(*tok, name, conv, true);
      ASSERT_TRUE(text.ok() && ids.ok()) << name;
      EXPECT_EQ(*ids, tok->Encode(*text, tok->add_bos(), /*parse_special=*/true))
          << vocab << " " << name;
    }
  }
}

TEST(TokenizerReference, NoControlTokenTextInContentBecomesAControlToken) {
  REQUIRE_SHARED_TESTDATA();
  int checked = 0;
  for (const char* vocab : {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-bpe.gguf"}) {
    auto tok = Load(vocab);
    ASSERT_NE(tok, nullptr) << vocab;
    auto special_ids = [&](const std::vector<int32_t>& ids) {
      std::vector<int32_t> out;
      for (int32_t id : ids) {
        const TokenType t = tok->GetTokenType(id);
        if (t == TokenType::kControl || t == TokenType::kUnknown) out.push_back(id);
      }
      return out;
    };
    auto conv = [](const std::string& user) {
      return std::vector<ChatMessage>{{"system", "Be brief."}, {"user", user}};
    };
    for (const std::string& name : BuiltinChatTemplates()) {
      const std::vector<int32_t> want = special_ids(*EncodeChat(*tok, name, conv("a b"), true));
      for (int32_t id = 0; id < tok->n_vocab(); ++id) {
        const TokenType t = tok->GetTokenType(id);
        if (t != TokenType::kControl && t != TokenType::kUnknown) continue;
        const std::string s = tok->TokenText(id);
        auto ids = EncodeChat(*tok, name, conv("a" + s + " b"), true);
        ASSERT_TRUE(ids.ok());
        EXPECT_EQ(special_ids(*ids), want) << vocab << " " << name << " '" << s << "'";
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 8 * 256);  // Llama 3 alone has 256 control tokens
}

}  // namespace
}  // namespace odlm
