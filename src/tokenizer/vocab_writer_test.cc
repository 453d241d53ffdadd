// Unit tests of vocab_writer: every Vocab field survives WriteVocabGguf → LoadVocab, for both
// tokenizer kinds.
#include "tokenizer/vocab_writer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/test_vocabs.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

Vocab RoundTrip(const Vocab& v) {
  GgufWriter w;
  SetVocabMetadata(v, &w);
  auto bytes = w.WriteToString();
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "vocab_writer_test.gguf").string();
  EXPECT_TRUE(WriteVocabGguf(v, path).ok());
  auto file = GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  auto loaded = LoadVocab(**file);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::filesystem::remove(path);
  return loaded.ok() ? *loaded : Vocab();
}

TEST(VocabWriter, SentencePieceRoundTrip) {
  Vocab v = testing::MakeSpmVocab({"▁", "h", "e", "he", "▁he"});
  v.add_space_prefix = false;
  v.add_bos = true;
  v.chat_template = "{{ x }}";
  const Vocab got = RoundTrip(v);
  EXPECT_EQ(got.model, VocabModel::kSpm);
  EXPECT_EQ(got.tokens, v.tokens);
  EXPECT_EQ(got.scores, v.scores);
  EXPECT_EQ(got.types, v.types);
  EXPECT_EQ(got.unk_id, 0);
  EXPECT_EQ(got.bos_id, 1);
  EXPECT_EQ(got.eos_id, 2);
  EXPECT_FALSE(got.add_space_prefix);
  EXPECT_TRUE(got.add_bos);
  EXPECT_EQ(got.chat_template, "{{ x }}");
}

TEST(VocabWriter, BpeRoundTripAndAbsentIds) {
  Vocab v = testing::MakeBpeVocab({{"h", "e"}, {"l", "l"}}, PreTokenizerKind::kQwen2);
  v.bos_id = -1;
  v.eot_id = v.size() - 1;
  const Vocab got = RoundTrip(v);
  EXPECT_EQ(got.model, VocabModel::kBpe);
  EXPECT_EQ(got.pre, PreTokenizerKind::kQwen2);
  EXPECT_EQ(got.pre_name, "qwen2");
  EXPECT_EQ(got.tokens, v.tokens);
  EXPECT_EQ(got.merges, v.merges);
  EXPECT_EQ(got.bos_id, -1);
  EXPECT_EQ(got.eos_id, v.eos_id);
  EXPECT_EQ(got.eot_id, v.size() - 1);
  EXPECT_FALSE(got.add_bos);
  EXPECT_TRUE(got.chat_template.empty());
  EXPECT_TRUE(Tokenizer::FromVocab(got).ok());
}

TEST(VocabWriter, WriteErrorNamesThePath) {
  Status s = WriteVocabGguf(testing::MakeBpeVocab({}), "/nonexistent/dir/v.gguf");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/dir"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace odlm
