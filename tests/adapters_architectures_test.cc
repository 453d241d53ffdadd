// tests/adapters_architectures_test.cc — LoRA adapters on the architectures beyond llama and qwen2
// (qwen3, gemma2, gemma3, Llama 3.2-style llama, phi3): a random adapter on all seven projections
// moves the logits, and applied unmerged it equals the same adapter baked into the weights; phi3
// stores Q/K/V and gate/up fused, so its adapters run unmerged (checked against the qwen2 file
// made of its split rows in model_fused_weights_test.cc) and baking is refused with a clear error.
// SKIPS loudly without ../shared/testdata.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "adapters/lora_merge.h"
#include "adapters/lora_random.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

// A rank-4 adapter on every projection that moves the logits well beyond float noise.
std::unique_ptr<LoraAdapter> RandomAdapter(const LoraBaseShape& base, uint32_t seed) {
  auto adapter = RandomLoraAdapter(base, 4, seed, 0.5f);
  EXPECT_TRUE(adapter.ok()) << adapter.status().ToString();
  return adapter.ok() ? std::move(adapter).value() : nullptr;
}

// All logits of a 20-token prompt (long enough to pass the 16-token sliding windows).
std::vector<float> Logits(LlamaModel& m, std::span<const ActiveLora> adapters) {
  std::vector<int32_t> tokens;
  for (int32_t i = 0; i < 20; ++i) tokens.push_back(1 + (i * 37) % 500);
  KvCache cache({.n_layer = m.config().n_layer,
                 .kv_dim = m.config().kv_dim(),
                 .type = DType::kF32,
                 .chunk_tokens = 16,
                 .max_tokens = 32});
  EXPECT_TRUE(cache.Reserve(static_cast<int64_t>(tokens.size())).ok());
  KvCacheView view = cache.View();
  SequenceStep step{tokens.data(), static_cast<int32_t>(tokens.size()), &view, true, adapters};
  std::vector<float> logits;
  const Status s = m.Forward({&step, 1}, nullptr, &logits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return logits;
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    d = std::max<double>(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST(AdaptersArchitectures, UnmergedEqualsBakedOnEveryProjection) {
  REQUIRE_SHARED_TESTDATA();
  for (const std::string name :
       {"tiny-qwen3-f32", "tiny-gemma2-f32", "tiny-gemma3-f32", "tiny-llama3-f32"}) {
    SCOPED_TRACE(name);
    auto file = GgufFile::Open(testing::SharedTestdataPath("models/" + name + ".gguf"));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    auto model = LlamaModel::Load(**file);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto adapter = RandomAdapter((*model)->LoraBase(), 11);
    ASSERT_NE(adapter, nullptr);
    const ActiveLora set[] = {{adapter.get(), 1.0f}};
    const std::string baked_path = std::filesystem::temp_directory_path().string() +
                                   "/odlm_arch_baked_" + std::to_string(getpid()) + ".gguf";
    ASSERT_TRUE(BakeAdapters(**file, set, std::nullopt, baked_path).ok());
    auto baked_file = GgufFile::Open(baked_path);
    ASSERT_TRUE(baked_file.ok());
    auto baked = LlamaModel::Load(**baked_file);
    ASSERT_TRUE(baked.ok()) << baked.status().ToString();
    const auto base = Logits(**model, {}), unmerged = Logits(**model, set),
               folded = Logits(**baked, {});
    EXPECT_GT(MaxDiff(base, unmerged), 0.05) << "the adapter must move the logits";
    EXPECT_LT(MaxDiff(unmerged, folded), 1e-3);
    std::filesystem::remove(baked_path);
  }
}

TEST(AdaptersArchitectures, Phi3RunsAdaptersUnmergedAndRefusesToBakeThem) {
  REQUIRE_SHARED_TESTDATA();
  auto file = GgufFile::Open(testing::SharedTestdataPath("models/tiny-phi3-f32.gguf"));
  ASSERT_TRUE(file.ok());
  auto model = LlamaModel::Load(**file);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto adapter = RandomAdapter((*model)->LoraBase(), 12);
  ASSERT_NE(adapter, nullptr);
  const ActiveLora set[] = {{adapter.get(), 1.0f}};
  EXPECT_GT(MaxDiff(Logits(**model, {}), Logits(**model, set)), 0.05);
  const std::string path = std::filesystem::temp_directory_path().string() + "/odlm_phi3_baked_" +
                           std::to_string(getpid()) + ".gguf";
  const Status s = BakeAdapters(**file, set, std::nullopt, path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("blk.0.attn_q.weight"), std::string::npos) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(path)) << "nothing is written on error";
}

}  // namespace
}  // namespace odlm
