// tests/model_consistency_test.cc — properties of the forward pass that need no reference data:
// batched prefill equals token-by-token decode, and sequences batched together equal each alone.
// Runs on a model the test generates itself (odlm gen-model's generator), for both architectures.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "gguf/gguf_reader.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "model_gen/model_generator.h"

namespace odlm {
namespace {

struct Fixture {
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<LlamaModel> model;
};

Fixture MakeModel(const std::string& arch, DType type) {
  const std::string path = std::string(::testing::TempDir()) + "/consistency_" + arch + "_" +
                           std::string(DTypeName(type)) + ".gguf";
  ModelGenOptions o;
  o.arch = arch;
  o.type = std::string(DTypeName(type));
  o.n_embd = 128;
  o.n_layer = 2;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 256;
  o.n_vocab = 300;
  o.n_ctx = 256;
  o.seed = 7;
  Status s = GenerateModel(o, path, 2);
  EXPECT_TRUE(s.ok()) << s.ToString();
  Fixture f;
  auto file = GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  f.file = std::move(file).value();
  auto model = LlamaModel::Load(*f.file);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  f.model = std::move(model).value();
  return f;
}

KvCache NewCache(const LlamaModel& m, DType type = DType::kF32) {
  return KvCache({.n_layer = m.config().n_layer,
                  .kv_dim = m.config().kv_dim(),
                  .type = type,
                  .chunk_tokens = 16,
                  .max_tokens = 256});
}

std::vector<int32_t> SomeTokens(int n, int salt, int n_vocab) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = (i * 37 + salt * 101 + 5) % n_vocab;
  return t;
}

double MaxAbsDiff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

class ConsistencyTest : public ::testing::TestWithParam<std::pair<std::string, DType>> {};

TEST_P(ConsistencyTest, PrefillEqualsTokenByTokenDecode) {
  Fixture f = MakeModel(GetParam().first, GetParam().second);
  ASSERT_TRUE(f.model);
  const int64_t V = f.model->config().n_vocab;
  const std::vector<int32_t> tokens = SomeTokens(40, 1, V);  // spans three KV chunks
  ThreadPool pool(2);
  KvCache a = NewCache(*f.model);
  ASSERT_TRUE(a.Reserve(40).ok());
  KvCacheView va = a.View();
  SequenceStep all{tokens.data(), 40, &va, true, {}};
  std::vector<float> batch_logits;
  ASSERT_TRUE(f.model->Forward({&all, 1}, &pool, &batch_logits).ok());

  KvCache b = NewCache(*f.model);
  ASSERT_TRUE(b.Reserve(40).ok());
  std::vector<float> row;
  for (int i = 0; i < 40; ++i) {
    KvCacheView vb = b.View();
    SequenceStep one{&tokens[i], 1, &vb, false, {}};
    ASSERT_TRUE(f.model->Forward({&one, 1}, &pool, &row).ok());
    b.Advance(1);
    EXPECT_LE(MaxAbsDiff(row.data(), &batch_logits[i * V], V), 1e-4) << "position " << i;
  }
}

TEST_P(ConsistencyTest, BatchedSequencesEqualEachAlone) {
  Fixture f = MakeModel(GetParam().first, GetParam().second);
  ASSERT_TRUE(f.model);
  const int64_t V = f.model->config().n_vocab;
  ThreadPool pool(2);
  const auto p1 = SomeTokens(23, 2, V), p2 = SomeTokens(9, 3, V);
  // Alone.
  std::vector<std::vector<float>> alone;
  for (const auto* p : {&p1, &p2}) {
    KvCache c = NewCache(*f.model);
    ASSERT_TRUE(c.Reserve(64).ok());
    KvCacheView v = c.View();
    SequenceStep s{p->data(), static_cast<int32_t>(p->size()), &v, false, {}};
    std::vector<float> l;
    ASSERT_TRUE(f.model->Forward({&s, 1}, &pool, &l).ok());
    alone.push_back(l);
  }
  // Together, with different lengths in one forward pass.
  KvCache c1 = NewCache(*f.model), c2 = NewCache(*f.model);
  ASSERT_TRUE(c1.Reserve(64).ok());
  ASSERT_TRUE(c2.Reserve(64).ok());
  KvCacheView v1 = c1.View(), v2 = c2.View();
  SequenceStep steps[2] = {{p1.data(), 23, &v1, false, {}}, {p2.data(), 9, &v2, false, {}}};
  std::vector<float> both;
  ASSERT_TRUE(f.model->Forward(steps, &pool, &both).ok());
  ASSERT_EQ(static_cast<int64_t>(both.size()), 2 * V);
  EXPECT_LE(MaxAbsDiff(both.data(), alone[0].data(), V), 1e-4);
  EXPECT_LE(MaxAbsDiff(both.data() + V, alone[1].data(), V), 1e-4);
}

TEST_P(ConsistencyTest, F16CacheStaysCloseToF32) {
  Fixture f = MakeModel(GetParam().first, GetParam().second);
  ASSERT_TRUE(f.model);
  const int64_t V = f.model->config().n_vocab;
  const auto p = SomeTokens(30, 4, V);
  ThreadPool pool(1);
  std::vector<float> l32, l16;
  for (DType t : {DType::kF32, DType::kF16}) {
    KvCache c = NewCache(*f.model, t);
    ASSERT_TRUE(c.Reserve(30).ok());
    KvCacheView v = c.View();
    SequenceStep s{p.data(), 30, &v, false, {}};
    ASSERT_TRUE(f.model->Forward({&s, 1}, &pool, t == DType::kF32 ? &l32 : &l16).ok());
  }
  // Quantized weights round activations to 8 bits, which turns the f16 rounding of K/V into
  // occasional flips of an activation's last step: allow the quantized-model tolerance there.
  const double tol = GetParam().second == DType::kF32 ? 0.02 : 0.15;
  EXPECT_LE(MaxAbsDiff(l32.data(), l16.data(), V), tol);
}

TEST(ModelErrorsTest, BadTokensAndFullCachesAreErrors) {
  Fixture f = MakeModel("llama", DType::kF32);
  ASSERT_TRUE(f.model);
  ThreadPool pool(1);
  KvCache c = NewCache(*f.model);
  ASSERT_TRUE(c.Reserve(16).ok());
  KvCacheView v = c.View();
  std::vector<float> l;
  const int32_t bad[1] = {100000};
  SequenceStep s{bad, 1, &v, false, {}};
  Status st = f.model->Forward({&s, 1}, &pool, &l);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("outside the vocabulary"), std::string::npos);
  std::vector<int32_t> many(17, 1);
  SequenceStep s2{many.data(), 17, &v, false, {}};
  EXPECT_EQ(f.model->Forward({&s2, 1}, &pool, &l).code(), StatusCode::kOutOfRange);
}

INSTANTIATE_TEST_SUITE_P(Archs, ConsistencyTest,
                         ::testing::Values(std::make_pair(std::string("llama"), DType::kF32),
                                           std::make_pair(std::string("qwen2"), DType::kF32),
                                           std::make_pair(std::string("llama"), DType::kQ4_0),
                                           std::make_pair(std::string("llama"), DType::kQ4_K)),
                         [](const auto& info) {
                           return info.param.first + "_" +
                                  std::string(DTypeName(info.param.second));
                         });

}  // namespace
}  // namespace odlm
