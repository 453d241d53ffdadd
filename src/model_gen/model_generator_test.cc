// Generated models: llama.cpp names/shapes/keys, bit-exact round trip through the reader,
// determinism, the Q4_K_M recipe, weight scale, the built-in vocabulary, and file sizes.
#include "model_gen/model_generator.h"
#include "model/quant_mix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "gguf/gguf_reader.h"
#include "kernels/quant.h"
#include "model_gen/gen_vocab.h"
#include "tests/support/shared_testdata.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

std::string Generate(const ModelGenOptions& o, ThreadPool* pool) {
  GgufWriter w;
  Status s = BuildModel(o, pool, &w);
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto bytes = w.WriteToString();
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

// The result points into `bytes`, which must outlive it.
std::unique_ptr<GgufFile> ParseOrDie(const std::string& bytes) {
  auto r = GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

ModelGenOptions Small(const std::string& arch, const std::string& type) {
  ModelGenOptions o;
  o.arch = arch;
  o.type = type;
  o.n_embd = 256;
  o.n_layer = 2;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 512;
  o.n_vocab = 300;
  o.seed = 7;
  return o;
}

TEST(ModelGenerator, LlamaNamesShapesAndMetadata) {
  ThreadPool pool(2);
  const std::string bytes = Generate(Small("llama", "f16"), &pool);
  auto f = ParseOrDie(bytes);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  EXPECT_EQ(*f->GetUInt("general.file_type"), 1u);
  EXPECT_EQ(*f->GetUInt("llama.embedding_length"), 256u);
  EXPECT_EQ(*f->GetUInt("llama.block_count"), 2u);
  EXPECT_EQ(*f->GetUInt("llama.attention.head_count"), 4u);
  EXPECT_EQ(*f->GetUInt("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(*f->GetUInt("llama.feed_forward_length"), 512u);
  EXPECT_EQ(*f->GetUInt("llama.rope.dimension_count"), 64u);
  EXPECT_EQ(*f->GetUInt("llama.vocab_size"), 300u);
  EXPECT_EQ(*f->GetFloat("llama.rope.freq_base"), 1e4f);
  EXPECT_EQ(*f->GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_EQ(*f->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->GetStringArray("tokenizer.ggml.tokens")->size(), 300u);
  EXPECT_FALSE(f->GetString("tokenizer.chat_template")->empty());
  const std::vector<std::pair<std::string, std::vector<int64_t>>> want = {
      {"token_embd.weight", {256, 300}},   {"blk.0.attn_norm.weight", {256}},
      {"blk.0.attn_q.weight", {256, 256}}, {"blk.0.attn_k.weight", {256, 128}},
      {"blk.0.attn_v.weight", {256, 128}}, {"blk.0.attn_output.weight", {256, 256}},
      {"blk.0.ffn_norm.weight", {256}},    {"blk.0.ffn_gate.weight", {256, 512}},
      {"blk.0.ffn_up.weight", {256, 512}}, {"blk.1.ffn_down.weight", {512, 256}},
      {"output_norm.weight", {256}},       {"output.weight", {256, 300}}};
  for (const auto& [name, dims] : want) {
    const GgufTensorInfo* t = f->FindTensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dims, dims) << name;
    EXPECT_EQ(t->type, dims.size() == 1 ? DType::kF32 : DType::kF16) << name;
  }
  EXPECT_EQ(f->tensors().size(), 2u * 9 + 3);
  EXPECT_EQ(f->FindTensor("blk.0.attn_q.bias"), nullptr);
}

TEST(ModelGenerator, Qwen2HasBiasesAndTiedOutput) {
  const std::string bytes_f = Generate(Small("qwen2", "q8_0"), nullptr);
  auto f = ParseOrDie(bytes_f);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->GetString("general.architecture"), "qwen2");
  EXPECT_EQ(*f->GetFloat("qwen2.rope.freq_base"), 1e6f);
  EXPECT_EQ(f->FindTensor("output.weight"), nullptr);
  EXPECT_EQ(f->FindTensor("blk.1.attn_q.bias")->dims, std::vector<int64_t>{256});
  EXPECT_EQ(f->FindTensor("blk.1.attn_k.bias")->dims, std::vector<int64_t>{128});
  EXPECT_EQ(f->FindTensor("blk.1.attn_v.bias")->type, DType::kF32);
  EXPECT_EQ(f->FindTensor("blk.1.attn_v.weight")->type, DType::kQ8_0);
  EXPECT_EQ(f->tensors().size(), 2u * 12 + 2);
}

TEST(ModelGenerator, RoundTripsBitExactThroughReader) {
  ModelGenOptions o = Small("llama", "q4_0");
  ThreadPool pool(2);
  GgufWriter w;
  ASSERT_TRUE(BuildModel(o, &pool, &w).ok());
  const std::string bytes = *w.WriteToString();
  auto f = ParseOrDie(bytes);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->metadata().size(), w.metadata().size());
  for (size_t i = 0; i < w.metadata().size(); ++i) {
    EXPECT_EQ(f->metadata()[i].first, w.metadata()[i].first);
    EXPECT_TRUE(f->metadata()[i].second == w.metadata()[i].second) << w.metadata()[i].first;
  }
  auto plan = PlanModelTensors(o);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), f->tensors().size());
  for (size_t i = 0; i < plan->size(); ++i) {
    const GenTensorSpec& spec = (*plan)[i];
    const GgufTensorInfo& t = f->tensors()[i];
    EXPECT_EQ(t.name, spec.name);
    EXPECT_EQ(t.type, spec.type);
    EXPECT_EQ(t.dims, spec.dims);
    std::vector<uint8_t> expect(t.n_bytes);
    FillGenTensor(spec, o.seed, nullptr, expect.data());  // single-threaded this time
    EXPECT_EQ(std::memcmp(expect.data(), t.data, t.n_bytes), 0) << t.name;
  }
}

TEST(ModelGenerator, DeterministicAcrossRunsAndThreadCounts) {
  ModelGenOptions o = Small("llama", "q4_K");
  ThreadPool one(1), two(2);
  const std::string a = Generate(o, &one);
  EXPECT_EQ(a, Generate(o, &two));
  o.seed = 8;
  EXPECT_NE(a, Generate(o, &two));
}

TEST(ModelGenerator, WritesFileAtomically) {
  const std::string path = ::testing::TempDir() + "/gen_model_test.gguf";
  ModelGenOptions o = Small("qwen2", "q6_K");
  ASSERT_TRUE(GenerateModel(o, path, 2).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->FindTensor("token_embd.weight")->type, DType::kQ6_K);
  EXPECT_EQ(*(*f)->GetUInt("general.quantization_version"), 2u);
  std::remove(path.c_str());
}

TEST(ModelGenerator, Q4KMRecipe) {
  // llama.cpp: Q6_K for output.weight and for attn_v / ffn_down of the first and last eighth of
  // the layers and every third layer in between; Q4_K elsewhere.
  const std::set<int64_t> more_bits = {0, 3, 6, 7};
  for (int64_t l = 0; l < 8; ++l) {
    const DType want = more_bits.count(l) ? DType::kQ6_K : DType::kQ4_K;
    const std::string p = "blk." + std::to_string(l) + ".";
    EXPECT_EQ(MixTensorType("q4_K_M", p + "attn_v.weight", l, 8), want) << l;
    EXPECT_EQ(MixTensorType("q4_K_M", p + "ffn_down.weight", l, 8), want) << l;
    EXPECT_EQ(MixTensorType("q4_K_M", p + "attn_q.weight", l, 8), DType::kQ4_K);
    EXPECT_EQ(MixTensorType("q4_K_M", p + "ffn_up.weight", l, 8), DType::kQ4_K);
  }
  EXPECT_EQ(MixTensorType("q4_K_M", "output.weight", -1, 8), DType::kQ6_K);
  EXPECT_EQ(MixTensorType("q4_K_M", "token_embd.weight", -1, 8), DType::kQ4_K);

  ModelGenOptions o = Small("llama", "Q4_K_M");
  const std::string bytes_f = Generate(o, nullptr);
  auto f = ParseOrDie(bytes_f);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->GetUInt("general.file_type"), 15u);
  EXPECT_EQ(f->FindTensor("output.weight")->type, DType::kQ6_K);
  EXPECT_EQ(f->FindTensor("blk.0.attn_v.weight")->type, DType::kQ4_K);
  EXPECT_EQ(f->FindTensor("blk.1.ffn_down.weight")->type, DType::kQ6_K);
  // qwen2 ties the output to token_embd, which then gets the output's type.
  const std::string bytes_q = Generate(Small("qwen2", "q4_K_M"), nullptr);
  auto q = ParseOrDie(bytes_q);
  EXPECT_EQ(q->FindTensor("token_embd.weight")->type, DType::kQ6_K);
}

TEST(ModelGenerator, RowLengthFallbacks) {
  ModelGenOptions o = Small("llama", "q4_K");
  o.n_embd = 96;  // not a multiple of 256: q4_K → q5_0 for rows of 96
  o.n_head = 2;
  o.n_head_kv = 2;
  o.n_ff = 200;  // ffn_down rows of 200: not even a multiple of 32 → f16
  auto plan = PlanModelTensors(o);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& t : *plan) {
    if (t.dims.size() == 1) continue;
    EXPECT_EQ(t.type, t.dims[0] == 96 ? DType::kQ5_0 : DType::kF16) << t.name;
  }
}

TEST(ModelGenerator, WeightsHaveTheIntendedScale) {
  ModelGenOptions o = Small("llama", "q8_0");
  const std::string bytes_f = Generate(o, nullptr);
  auto f = ParseOrDie(bytes_f);
  ASSERT_NE(f, nullptr);
  for (const char* name : {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "output_norm.weight"}) {
    const GgufTensorInfo* t = f->FindTensor(name);
    std::vector<float> v(t->n_elements);
    kernels::DequantizeRow(t->type, t->data, v.data(), t->n_elements);
    double sum = 0, sq = 0;
    for (float x : v) {
      ASSERT_TRUE(std::isfinite(x));
      sum += x;
    }
    const double mean = sum / v.size();
    for (float x : v) sq += (x - mean) * (x - mean);
    const double sd = std::sqrt(sq / v.size());
    const bool norm = t->dims.size() == 1;
    EXPECT_NEAR(mean, norm ? 1.0 : 0.0, norm ? 0.03 : 0.005) << name;
    const double want_sd = norm ? 0.1 : 1.0 / std::sqrt(double(t->dims[0]));
    EXPECT_NEAR(sd, want_sd, 0.1 * want_sd) << name;
  }
}

TEST(ModelGenerator, RejectsBadOptions) {
  ModelGenOptions o = Small("llama", "f16");
  o.arch = "gpt-j";
  EXPECT_NE(PlanModelTensors(o).status().message().find("gpt-j"), std::string::npos);
  o = Small("llama", "q9_9");
  EXPECT_NE(PlanModelTensors(o).status().message().find("q9_9"), std::string::npos);
  o = Small("llama", "f16");
  o.n_head_kv = 3;
  EXPECT_NE(PlanModelTensors(o).status().message().find("kv-heads 3"), std::string::npos);
  o = Small("llama", "f16");
  o.n_vocab = 100;
  EXPECT_NE(PlanModelTensors(o).status().message().find("vocab 100"), std::string::npos);
  o = Small("llama", "f16");
  o.vocab_file = "/nonexistent.gguf";
  EXPECT_EQ(PlanModelTensors(o).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ApplyModelPreset("huge", &o).ok());
}

TEST(ModelGenerator, TinyLlamaSizes) {
  // File sizes come from the header and the tensor table alone: nothing is generated.
  auto size_mib = [](const std::string& type) {
    ModelGenOptions o;
    EXPECT_TRUE(ApplyModelPreset("tinyllama-1.1b", &o).ok());
    o.type = type;
    GgufWriter w;
    EXPECT_TRUE(BuildModel(o, nullptr, &w).ok());
    return static_cast<double>(w.FileSize()) / (1 << 20);
  };
  const double q4_0 = size_mib("q4_0");  // llama.cpp's Q4_0 file (q6_K output): 607 MiB
  EXPECT_GT(q4_0, 580);
  EXPECT_LT(q4_0, 610);
  const double q4_k_m = size_mib("q4_K_M");  // llama.cpp's: 636 MiB
  EXPECT_GT(q4_k_m, 620);
  EXPECT_LT(q4_k_m, 650);
  const double q8_0 = size_mib("q8_0");  // 1.09 GiB
  EXPECT_GT(q8_0, 1060);
  EXPECT_LT(q8_0, 1130);
}

TEST(ByteLevelVocab, BytesSpecialsAndMerges) {
  auto v = BuildByteLevelVocab(512);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->tokens.size(), 512u);
  ASSERT_EQ(v->token_types.size(), 512u);
  EXPECT_EQ(v->tokens[0], "!");                    // GPT-2 order: printable bytes first
  EXPECT_EQ(ByteToUnicodeText(' '), "\xC4\xA0");   // 'Ġ' (U+0120)
  EXPECT_EQ(ByteToUnicodeText('\n'), "\xC4\x8A");  // 'Ċ' (U+010A)
  const std::set<std::string> unique(v->tokens.begin(), v->tokens.end());
  EXPECT_EQ(unique.size(), v->tokens.size()) << "token spellings must be unique";
  std::set<std::string> byte_tokens;
  for (int b = 0; b < 256; ++b) byte_tokens.insert(ByteToUnicodeText(static_cast<uint8_t>(b)));
  EXPECT_EQ(byte_tokens, std::set<std::string>(v->tokens.begin(), v->tokens.begin() + 256));
  EXPECT_EQ(v->tokens[v->bos_id], "<|endoftext|>");
  EXPECT_EQ(v->tokens[v->eos_id], "<|im_end|>");
  EXPECT_EQ(v->token_types[v->eos_id], 3);
  ASSERT_GT(v->merges.size(), 200u);
  EXPECT_EQ(v->merges[0].find(' ') != std::string::npos, true);
  // Every merge joins two known tokens into a known token.
  for (const std::string& m : v->merges) {
    const size_t sp = m.find(' ');
    ASSERT_NE(sp, std::string::npos) << m;
    const std::string l = m.substr(0, sp), r = m.substr(sp + 1);
    EXPECT_TRUE(unique.count(l) && unique.count(r) && unique.count(l + r)) << m;
  }
  EXPECT_TRUE(unique.count("\xC4\xA0the")) << "' the' should be learned early";
  auto again = BuildByteLevelVocab(512);
  EXPECT_EQ(again->tokens, v->tokens);
  EXPECT_EQ(again->merges, v->merges);
  // A large vocabulary runs out of merges and pads with unused tokens.
  auto big = BuildByteLevelVocab(32000);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->tokens.size(), 32000u);
  EXPECT_EQ(big->token_types.back(), 5);
  EXPECT_FALSE(BuildByteLevelVocab(258).ok());
}

TEST(ModelGenerator, CopiesTokenizerFromVocabFile) {
  REQUIRE_SHARED_TESTDATA();
  ModelGenOptions o = Small("llama", "q8_0");
  o.vocab_file = testing::SharedTestdataPath("vocab/ggml-vocab-llama-spm.gguf");
  o.n_embd = 64;
  o.n_head = 2;
  o.n_head_kv = 1;
  o.n_ff = 64;
  o.n_layer = 1;
  const std::string bytes_f = Generate(o, nullptr);
  auto f = ParseOrDie(bytes_f);
  ASSERT_NE(f, nullptr);
  auto vocab = GgufFile::Open(o.vocab_file);
  ASSERT_TRUE(vocab.ok());
  EXPECT_EQ(*f->GetUInt("llama.vocab_size"), 32000u);
  EXPECT_EQ(f->FindTensor("token_embd.weight")->dims, (std::vector<int64_t>{64, 32000}));
  for (const auto& [key, value] : (*vocab)->metadata()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    const GgufValue* got = f->FindValue(key);
    ASSERT_NE(got, nullptr) << key;
    EXPECT_TRUE(*got == value) << key;
  }
}

}  // namespace
}  // namespace odlm
