// Phi-3 LongRoPE (the 128k-context Phi-3 / Phi-3.5 / Phi-4-mini files) and partial rotation,
// checked by equivalences on a generated phi3 file rewritten with LongRoPE metadata and tensors:
// - short factors of 1 at a context up to the original one compute what the plain file computes;
// - uniform long factors s past it compute what linear RoPE scaling by s computes;
// - rope.scaling.attn_factor a (cos and sin × a, so q·k × a²) computes what the plain file with
//   its query rows scaled by a² computes;
// - the Engine picks the factor set by its context length; bad LongRoPE files are named errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "model_gen/model_generator.h"
#include "odlm/engine.h"
#include "tests/support/generated_model.h"
#include "tests/support/prompt_logits.h"

namespace odlm {
namespace {

constexpr int64_t kEmbd = 128, kHeads = 4, kHeadsKv = 2, kHeadDim = kEmbd / kHeads;
constexpr int64_t kOriginalContext = 64;

ModelGenOptions Phi3Options() {
  ModelGenOptions o;
  o.arch = "phi3";
  o.type = "f32";
  o.n_embd = kEmbd;
  o.n_layer = 2;
  o.n_head = kHeads;
  o.n_head_kv = kHeadsKv;
  o.n_ff = 256;
  o.n_vocab = 300;
  o.n_ctx = 4 * kOriginalContext;
  o.seed = 9;
  return o;
}

std::string PlainPhi3() { return testing::GeneratedModelBytes(Phi3Options()); }

std::unique_ptr<GgufFile> Parse(const std::string& bytes) { return testing::ParseGgufBytes(bytes); }

std::vector<uint8_t> FloatBytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

struct Rewrite {
  std::map<std::string, GgufValue> set;            // metadata to add or replace
  std::vector<float> long_factors, short_factors;  // empty: no such tensor
  float query_scale = 1.0f;                        // attn_qkv's query rows × this (f32 file)
};

// The plain phi3 file with `r` applied.
std::string Rewritten(const std::string& plain_bytes, const Rewrite& r) {
  auto plain = Parse(plain_bytes);
  if (plain == nullptr) return "";
  GgufWriter w;
  for (const auto& [key, value] : plain->metadata()) w.Set(key, value);
  for (const auto& [key, value] : r.set) w.Set(key, value);
  for (const GgufTensorInfo& t : plain->tensors()) {
    std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
    if (r.query_scale != 1.0f && t.name.find("attn_qkv.weight") != std::string::npos) {
      float* f = reinterpret_cast<float*>(data.data());
      for (int64_t i = 0; i < kEmbd * kEmbd; ++i) f[i] *= r.query_scale;  // the first q_dim rows
    }
    EXPECT_TRUE(w.AddTensor(t.name, t.type, t.dims, std::move(data)).ok());
  }
  if (!r.long_factors.empty()) {
    const int64_t n = static_cast<int64_t>(r.long_factors.size());
    EXPECT_TRUE(
        w.AddTensor("rope_factors_long.weight", DType::kF32, {n}, FloatBytes(r.long_factors)).ok());
  }
  if (!r.short_factors.empty()) {
    const int64_t n = static_cast<int64_t>(r.short_factors.size());
    EXPECT_TRUE(
        w.AddTensor("rope_factors_short.weight", DType::kF32, {n}, FloatBytes(r.short_factors))
            .ok());
  }
  auto bytes = w.WriteToString();
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

Rewrite LongRope(float long_factor, float short_factor, float attn_factor) {
  Rewrite r;
  r.set["phi3.rope.scaling.original_context_length"] =
      GgufValue::U32(static_cast<uint32_t>(kOriginalContext));
  if (attn_factor != 1.0f) r.set["phi3.rope.scaling.attn_factor"] = GgufValue::F32(attn_factor);
  r.long_factors.assign(kHeadDim / 2, long_factor);
  r.short_factors.assign(kHeadDim / 2, short_factor);
  return r;
}

// Logits of a 40-token prompt at positions 0..39 (every row) and of a decode step at 40, with the
// model told the context length n_ctx.
std::vector<float> RunModel(const std::string& bytes, int64_t n_ctx) {
  auto file = Parse(bytes);
  if (file == nullptr) return {};
  auto model = LlamaModel::Load(*file);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return {};
  (*model)->SetContextLength(n_ctx);
  return testing::PromptThenStepLogits(**model, 40, nullptr);
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size() || a.empty()) return 1e30;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max<double>(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(LongRope, ShortFactorsApplyUpToTheOriginalContextLongOnesPastIt) {
  const std::string plain = PlainPhi3();
  const std::string long_rope = Rewritten(plain, LongRope(4.0f, 1.0f, 1.0f));
  Rewrite linear;
  linear.set["phi3.rope.scaling.type"] = GgufValue::String("linear");
  linear.set["phi3.rope.scaling.factor"] = GgufValue::F32(4.0f);
  const std::string linear_bytes = Rewritten(plain, linear);

  const std::vector<float> plain_logits = RunModel(plain, kOriginalContext);
  const std::vector<float> short_logits = RunModel(long_rope, kOriginalContext);
  const std::vector<float> long_logits = RunModel(long_rope, kOriginalContext + 1);
  const std::vector<float> linear_logits = RunModel(linear_bytes, kOriginalContext + 1);
  ASSERT_EQ(plain_logits.size(), 41u * 300u);
  EXPECT_LE(MaxDiff(short_logits, plain_logits), 1e-6);
  EXPECT_LE(MaxDiff(long_logits, linear_logits), 1e-4);
  EXPECT_GT(MaxDiff(long_logits, plain_logits), 1e-2) << "the long factors change nothing";
}

TEST(LongRope, AttnFactorScalesQueryKeyProductsByItsSquare) {
  const std::string plain = PlainPhi3();
  const float a = 1.19f;
  const std::string long_rope = Rewritten(plain, LongRope(1.0f, 1.0f, a));
  Rewrite scaled_queries;
  scaled_queries.query_scale = a * a;
  const std::string scaled = Rewritten(plain, scaled_queries);
  const std::vector<float> with_factor = RunModel(long_rope, 32);
  EXPECT_LE(MaxDiff(with_factor, RunModel(scaled, 32)), 1e-4);
  EXPECT_GT(MaxDiff(with_factor, RunModel(plain, 32)), 1e-2) << "attn_factor changes nothing";
}

TEST(LongRope, PartialRotationKeyIsReadAndChecked) {
  const std::string plain = PlainPhi3();
  Rewrite partial;
  partial.set["phi3.rope.dimension_count"] = GgufValue::U32(static_cast<uint32_t>(kHeadDim / 2));
  const std::string partial_bytes = Rewritten(plain, partial);
  auto file = Parse(partial_bytes);  // views the bytes: they must outlive it
  ASSERT_NE(file, nullptr);
  auto model = LlamaModel::Load(*file);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->config().rope_dims, kHeadDim / 2);
  EXPECT_NE((*model)->config().Summary().find("RoPE on 16 dims"), std::string::npos);
  EXPECT_GT(MaxDiff(RunModel(partial_bytes, 32), RunModel(plain, 32)), 1e-2);
  // Odd or larger than the head: named errors.
  for (uint32_t bad : {15u, 64u}) {
    partial.set["phi3.rope.dimension_count"] = GgufValue::U32(bad);
    const std::string bad_bytes = Rewritten(plain, partial);
    auto bad_file = Parse(bad_bytes);
    ASSERT_NE(bad_file, nullptr);
    auto r = LlamaModel::Load(*bad_file);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("rope.dimension_count"), std::string::npos)
        << r.status().ToString();
  }
}

TEST(LongRope, EngineChoosesTheFactorsByItsContextLength) {
  const std::string dir = ::testing::TempDir() + "/odlm_long_rope";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/phi3-longrope.gguf";
  const std::string bytes = Rewritten(PlainPhi3(), LongRope(4.0f, 1.5f, 1.1f));
  auto file = Parse(bytes);
  ASSERT_NE(file, nullptr);
  {
    GgufWriter w;
    for (const auto& [key, value] : file->metadata()) w.Set(key, value);
    for (const GgufTensorInfo& t : file->tensors()) {
      ASSERT_TRUE(
          w.AddTensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes))
              .ok());
    }
    ASSERT_TRUE(w.WriteFile(path).ok());
  }
  for (int64_t n_ctx : {kOriginalContext, 4 * kOriginalContext}) {
    EngineOptions options;
    options.model_path = path;
    options.n_ctx = n_ctx;
    options.n_threads = 1;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const ModelConfig& c = (*engine)->config();
    EXPECT_FLOAT_EQ(c.rope_attn_factor, 1.1f);
    EXPECT_EQ(c.rope_freq_factors,
              n_ctx > kOriginalContext ? c.rope_factors_long : c.rope_factors_short)
        << n_ctx;
    EXPECT_NE(c.Summary().find(n_ctx > kOriginalContext ? "LongRoPE (long" : "LongRoPE (short"),
              std::string::npos)
        << c.Summary();
  }
  std::filesystem::remove_all(dir);
}

TEST(LongRope, IncompleteOrBadLongRopeFilesAreNamedErrors) {
  const std::string plain = PlainPhi3();
  struct Case {
    const char* what;
    Rewrite r;
    const char* expect;
  };
  std::vector<Case> cases;
  {
    Rewrite r = LongRope(4.0f, 1.0f, 1.0f);
    r.short_factors.clear();
    cases.push_back({"only long factors", r, "rope_factors_short"});
  }
  {
    Rewrite r = LongRope(4.0f, 1.0f, 1.0f);
    r.set.erase("phi3.rope.scaling.original_context_length");
    cases.push_back({"no original context", r, "original_context_length"});
  }
  {
    Rewrite r = LongRope(4.0f, 1.0f, 1.0f);
    r.long_factors.resize(3);
    cases.push_back({"wrong factor count", r, "rope_factors_long"});
  }
  {
    Rewrite r = LongRope(4.0f, 1.0f, 1.0f);
    r.short_factors[2] = 0.0f;
    cases.push_back({"a zero factor", r, "frequency factor"});
  }
  {
    Rewrite r = LongRope(4.0f, 1.0f, 1.0f);
    r.set["phi3.rope.scaling.attn_factor"] = GgufValue::F32(-1.0f);
    cases.push_back({"negative attn_factor", r, "attn_factor"});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string bytes = Rewritten(plain, c.r);
    auto file = Parse(bytes);
    ASSERT_NE(file, nullptr);
    auto model = LlamaModel::Load(*file);
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.status().message().find(c.expect), std::string::npos)
        << model.status().ToString();
  }
}

}  // namespace
}  // namespace odlm
