// The reader on the reference files in ../shared/testdata: every model, adapter and vocabulary
// loads with the metadata and tensor table its README describes.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "gguf/gguf_reader.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

using testing::SharedTestdataPath;

std::unique_ptr<GgufFile> OpenOrDie(const std::string& relative) {
  auto r = GgufFile::Open(SharedTestdataPath(relative));
  EXPECT_TRUE(r.ok()) << relative << ": " << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Checks the shape and tensor table every tiny model shares (dim 256, 2 layers, 4 heads, 2 KV
// heads, FFN 768, vocab 512).
void CheckTinyModel(const GgufFile& f, const std::string& arch) {
  EXPECT_EQ(*f.GetString("general.architecture"), arch);
  EXPECT_EQ(*f.GetUInt(arch + ".embedding_length"), 256u);
  EXPECT_EQ(*f.GetUInt(arch + ".block_count"), 2u);
  EXPECT_EQ(*f.GetUInt(arch + ".attention.head_count"), 4u);
  EXPECT_EQ(*f.GetUInt(arch + ".attention.head_count_kv"), 2u);
  EXPECT_EQ(*f.GetUInt(arch + ".feed_forward_length"), 768u);
  EXPECT_EQ(f.GetStringArray("tokenizer.ggml.tokens")->size(), 512u);
  EXPECT_EQ(f.GetFloatArray("tokenizer.ggml.scores")->size(), 512u);
  EXPECT_EQ(f.GetIntArray("tokenizer.ggml.token_type")->size(), 512u);
  const std::map<std::string, std::vector<int64_t>> shapes = {
      {"token_embd.weight", {256, 512}},        {"output_norm.weight", {256}},
      {"blk.0.attn_norm.weight", {256}},        {"blk.0.attn_q.weight", {256, 256}},
      {"blk.0.attn_k.weight", {256, 128}},      {"blk.0.attn_v.weight", {256, 128}},
      {"blk.0.attn_output.weight", {256, 256}}, {"blk.1.ffn_norm.weight", {256}},
      {"blk.1.ffn_gate.weight", {256, 768}},    {"blk.1.ffn_up.weight", {256, 768}},
      {"blk.1.ffn_down.weight", {768, 256}},
  };
  for (const auto& [name, dims] : shapes) {
    const GgufTensorInfo* t = f.FindTensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dims, dims) << name;
  }
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.offset % f.alignment(), 0u) << t.name;
    EXPECT_GE(t.data, f.file_data() + f.data_offset());
    EXPECT_LE(t.data + t.n_bytes, f.file_data() + f.file_size());
    if (t.dims.size() == 1) {
      EXPECT_EQ(t.type, DType::kF32) << t.name << ": norms stay f32";
    }
  }
}

TEST(GgufTestdata, TinyLlamaPureFiles) {
  REQUIRE_SHARED_TESTDATA();
  const std::map<std::string, DType> files = {
      {"f32", DType::kF32},   {"f16", DType::kF16},   {"bf16", DType::kBF16},
      {"q8_0", DType::kQ8_0}, {"q4_0", DType::kQ4_0}, {"q4_1", DType::kQ4_1},
      {"q5_0", DType::kQ5_0}, {"q5_1", DType::kQ5_1}, {"q2_k", DType::kQ2_K},
      {"q3_k", DType::kQ3_K}, {"q4_k", DType::kQ4_K}, {"q5_k", DType::kQ5_K},
      {"q6_k", DType::kQ6_K}};
  for (const auto& [suffix, type] : files) {
    SCOPED_TRACE(suffix);
    auto f = OpenOrDie("models/tiny-llama-" + suffix + ".gguf");
    ASSERT_NE(f, nullptr);
    CheckTinyModel(*f, "llama");
    EXPECT_EQ(f->tensors().size(), 2u * 9 + 3);
    EXPECT_NE(f->FindTensor("output.weight"), nullptr);
    EXPECT_EQ(*f->GetFloat("llama.rope.freq_base"), 10000.0f);
    for (const auto& t : f->tensors())
      if (t.dims.size() == 2) {
        EXPECT_EQ(t.type, type) << t.name << " of a --pure file";
      }
  }
}

TEST(GgufTestdata, TinyLlamaQ4KMMixesQ4KAndQ6K) {
  REQUIRE_SHARED_TESTDATA();
  auto f = OpenOrDie("models/tiny-llama-q4_k_m.gguf");
  ASSERT_NE(f, nullptr);
  CheckTinyModel(*f, "llama");
  std::set<DType> types;
  for (const auto& t : f->tensors())
    if (t.dims.size() == 2) types.insert(t.type);
  EXPECT_EQ(types, (std::set<DType>{DType::kQ4_K, DType::kQ6_K}));
  EXPECT_EQ(f->FindTensor("output.weight")->type, DType::kQ6_K);
  EXPECT_EQ(*f->GetUInt("general.file_type"), 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
}

TEST(GgufTestdata, TinyQwen2Files) {
  REQUIRE_SHARED_TESTDATA();
  for (const char* suffix : {"f32", "f16", "q8_0", "q4_0", "q4_k_m"}) {
    SCOPED_TRACE(suffix);
    auto f = OpenOrDie(std::string("models/tiny-qwen2-") + suffix + ".gguf");
    ASSERT_NE(f, nullptr);
    CheckTinyModel(*f, "qwen2");
    EXPECT_EQ(f->FindTensor("output.weight"), nullptr) << "qwen2 ties output to token_embd";
    EXPECT_EQ(*f->GetFloat("qwen2.rope.freq_base"), 1e6f);
    for (const char* bias : {"blk.0.attn_q.bias", "blk.1.attn_k.bias", "blk.1.attn_v.bias"})
      ASSERT_NE(f->FindTensor(bias), nullptr) << bias;
    EXPECT_EQ(f->FindTensor("blk.0.attn_q.bias")->dims, std::vector<int64_t>{256});
    EXPECT_EQ(f->FindTensor("blk.0.attn_k.bias")->dims, std::vector<int64_t>{128});
    EXPECT_EQ(f->tensors().size(), 2u * 12 + 2);
  }
}

TEST(GgufTestdata, Stories260K) {
  REQUIRE_SHARED_TESTDATA();
  auto f = OpenOrDie("models/stories260K.gguf");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->GetUInt("llama.embedding_length"), 64u);
  EXPECT_EQ(*f->GetUInt("llama.block_count"), 5u);
  EXPECT_EQ(*f->GetUInt("llama.attention.head_count"), 8u);
  EXPECT_EQ(*f->GetUInt("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(*f->GetUInt("llama.feed_forward_length"), 172u);
  EXPECT_EQ(*f->GetUInt("llama.context_length"), 128u);
  EXPECT_EQ(f->FindTensor("blk.4.ffn_down.weight")->dims, (std::vector<int64_t>{172, 64}));
  for (const auto& t : f->tensors()) EXPECT_EQ(t.type, DType::kF32) << t.name;
}

TEST(GgufTestdata, LoraAdapter) {
  REQUIRE_SHARED_TESTDATA();
  auto f = OpenOrDie("adapters/tiny-llama-lora-r8.gguf");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->GetString("general.type"), "adapter");
  EXPECT_EQ(*f->GetFloat("adapter.lora.alpha"), 16.0f);
  const GgufTensorInfo* a = f->FindTensor("blk.0.attn_q.weight.lora_a");
  const GgufTensorInfo* b = f->FindTensor("blk.0.attn_q.weight.lora_b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->dims, (std::vector<int64_t>{256, 8}));
  EXPECT_EQ(b->dims, (std::vector<int64_t>{8, 256}));
}

// How long a parse takes is printed (a benchmark's business), not asserted: timed assertions fail
// on a busy machine.
TEST(GgufTestdata, VocabOnlyFilesLoad) {
  REQUIRE_SHARED_TESTDATA();
  struct Want {
    const char* file;
    const char* model;
    size_t n_tokens;
    size_t n_merges;
  };
  for (const Want& w : {Want{"vocab/ggml-vocab-llama-spm.gguf", "llama", 32000, 0},
                        Want{"vocab/ggml-vocab-llama-bpe.gguf", "gpt2", 128256, 280147}}) {
    SCOPED_TRACE(w.file);
    const auto start = std::chrono::steady_clock::now();
    auto f = OpenOrDie(w.file);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(f->tensors().empty());
    EXPECT_EQ(*f->GetString("tokenizer.ggml.model"), w.model);
    const GgufValue* tokens = f->FindValue("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->array_size(), w.n_tokens);
    if (w.n_merges > 0) {
      EXPECT_EQ(f->FindValue("tokenizer.ggml.merges")->array_size(), w.n_merges);
    }
    std::printf("[ measured ] %s parsed in %.1f ms\n", w.file, ms);
  }
}

TEST(GgufTestdata, EveryGgufFileLoads) {
  REQUIRE_SHARED_TESTDATA();
  int n = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(testing::SharedTestdataDir())) {
    if (entry.path().extension() != ".gguf") continue;
    auto r = GgufFile::Open(entry.path().string());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    ++n;
  }
  EXPECT_GE(n, 20);
}

}  // namespace
}  // namespace odlm
