// tests/adapters_reference_test.cc — the shared LoRA adapter applied (unmerged) to tiny-llama-f32
// against reference logits computed outside the project at user scales 1.0 and 0.5; scale 0 is
// the base model bit for bit; two adapters at once add up; mismatching adapters are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "adapters/lora_adapter.h"
#include "gguf/gguf_reader.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

using odlm::testing::SharedTestdataPath;

struct Fixture {
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<LoraAdapter> adapter;
};

Fixture Load() {
  Fixture f;
  auto file = GgufFile::Open(SharedTestdataPath("models/tiny-llama-f32.gguf"));
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (!file.ok()) return f;
  f.file = std::move(file).value();
  auto model = LlamaModel::Load(*f.file);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return f;
  f.model = std::move(model).value();
  auto adapter = LoraAdapter::Load(SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf"),
                                   f.model->LoraBase());
  EXPECT_TRUE(adapter.ok()) << adapter.status().ToString();
  if (adapter.ok()) f.adapter = std::move(adapter).value();
  return f;
}

// All-position logits of `tokens` with the given adapters, then greedy continuation of n tokens.
std::vector<float> RunAll(LlamaModel& model, std::span<const int32_t> tokens,
                          std::span<const ActiveLora> adapters, int n_greedy,
                          std::vector<int32_t>* greedy) {
  ThreadPool pool(2);
  KvCache cache({.n_layer = model.config().n_layer,
                 .kv_dim = model.config().kv_dim(),
                 .type = DType::kF32,
                 .chunk_tokens = 16,
                 .max_tokens = 256});
  EXPECT_TRUE(cache.Reserve(static_cast<int64_t>(tokens.size()) + n_greedy + 1).ok());
  KvCacheView view = cache.View();
  SequenceStep step{tokens.data(), static_cast<int32_t>(tokens.size()), &view, true, adapters};
  std::vector<float> logits;
  EXPECT_TRUE(model.Forward({&step, 1}, &pool, &logits).ok());
  cache.Advance(static_cast<int64_t>(tokens.size()));
  const int64_t n_vocab = model.config().n_vocab;
  std::vector<float> row(logits.end() - n_vocab, logits.end());
  for (int i = 0; i < n_greedy; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    greedy->push_back(next);
    view = cache.View();
    SequenceStep s{&greedy->back(), 1, &view, false, adapters};
    EXPECT_TRUE(model.Forward({&s, 1}, &pool, &row).ok());
    cache.Advance(1);
  }
  return logits;
}

class AdapterReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AdapterReferenceTest, LogitsAndGreedyMatchReference) {
  REQUIRE_SHARED_TESTDATA();
  Fixture f = Load();
  ASSERT_TRUE(f.adapter);
  std::ifstream in(
      SharedTestdataPath("reference/tiny-llama-f32+lora-r8-scale" + GetParam() + ".json"));
  ASSERT_TRUE(in.good());
  nlohmann::json ref = nlohmann::json::parse(in);
  const auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  const auto want = ref["exact"]["greedy"].get<std::vector<int32_t>>();
  const auto& exact = ref["exact"]["logits"];
  const float scale = std::stof(GetParam());
  const ActiveLora set[] = {{f.adapter.get(), scale}};
  std::vector<int32_t> greedy;
  const auto logits = RunAll(*f.model, tokens, set, static_cast<int>(want.size()), &greedy);
  const int64_t n_vocab = f.model->config().n_vocab;
  ASSERT_EQ(exact.size(), tokens.size());
  double max_diff = 0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    for (int64_t v = 0; v < n_vocab; ++v) {
      max_diff = std::max(max_diff, std::fabs(logits[p * n_vocab + v] - exact[p][v].get<double>()));
    }
  }
  std::printf("[ lora r8 scale %s ] max |Δ| %.5f vs exact\n", GetParam().c_str(), max_diff);
  EXPECT_LE(max_diff, 0.01);
  EXPECT_EQ(greedy, want);

  // The adapter must matter: the base model's logits are far from the adapted reference.
  std::vector<int32_t> unused;
  const auto base = RunAll(*f.model, tokens, {}, 0, &unused);
  double base_diff = 0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    for (int64_t v = 0; v < n_vocab; ++v) {
      base_diff = std::max(base_diff, std::fabs(base[p * n_vocab + v] - exact[p][v].get<double>()));
    }
  }
  EXPECT_GT(base_diff, 0.1) << "the reference is indistinguishable from the base model";
}

INSTANTIATE_TEST_SUITE_P(Scales, AdapterReferenceTest, ::testing::Values("1.0", "0.5"),
                         [](const auto& info) {
                           return "scale_" + info.param.substr(0, 1) + "_" + info.param.substr(2);
                         });

TEST(AdapterTest, ScaleZeroIsTheBaseModelExactly) {
  REQUIRE_SHARED_TESTDATA();
  Fixture f = Load();
  ASSERT_TRUE(f.adapter);
  const std::vector<int32_t> tokens = {1, 17, 250, 3, 99, 411, 7};
  const ActiveLora zero[] = {{f.adapter.get(), 0.0f}};
  std::vector<int32_t> g0, g1;
  EXPECT_EQ(RunAll(*f.model, tokens, zero, 8, &g0), RunAll(*f.model, tokens, {}, 8, &g1));
  EXPECT_EQ(g0, g1);
}

TEST(AdapterTest, TwoAdaptersAddTheirScales) {
  REQUIRE_SHARED_TESTDATA();
  Fixture f = Load();
  ASSERT_TRUE(f.adapter);
  // The same adapter loaded twice is two adapters; at 0.25 + 0.75 they equal one at 1.0.
  auto second = LoraAdapter::Load(SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf"),
                                  f.model->LoraBase());
  ASSERT_TRUE(second.ok());
  const std::vector<int32_t> tokens = {1, 17, 250, 3, 99, 411, 7};
  const ActiveLora two[] = {{f.adapter.get(), 0.25f}, {second->get(), 0.75f}};
  const ActiveLora one[] = {{f.adapter.get(), 1.0f}};
  std::vector<int32_t> g;
  const auto a = RunAll(*f.model, tokens, two, 0, &g);
  const auto b = RunAll(*f.model, tokens, one, 0, &g);
  ASSERT_EQ(a.size(), b.size());
  double max_diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    max_diff = std::max<double>(max_diff, std::fabs(a[i] - b[i]));
  EXPECT_LT(max_diff, 1e-4);
}

TEST(AdapterTest, MismatchedAdaptersAreRefusedWithClearErrors) {
  REQUIRE_SHARED_TESTDATA();
  Fixture f = Load();
  ASSERT_TRUE(f.adapter);
  LoraBaseShape base = f.model->LoraBase();
  const std::string path = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");

  LoraBaseShape qwen = base;
  qwen.arch = "qwen2";
  auto s = LoraAdapter::Load(path, qwen);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("architecture 'llama' but the base model is 'qwen2'"),
            std::string::npos)
      << s.status().message();

  LoraBaseShape wider = base;
  wider.cols[static_cast<int>(LoraTarget::kAttnQ)] = 512;
  s = LoraAdapter::Load(path, wider);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("blk.0.attn_q.weight"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("512 inputs"), std::string::npos) << s.status().message();

  LoraBaseShape shallow = base;
  shallow.n_layer = 1;
  s = LoraAdapter::Load(path, shallow);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("only 1 layers"), std::string::npos) << s.status().message();

  // A base model given as an adapter.
  s = LoraAdapter::Load(SharedTestdataPath("models/tiny-llama-f32.gguf"), base);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a LoRA adapter"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace odlm
