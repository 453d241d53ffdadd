// tests/adapters_peft_test.cc — a Hugging Face PEFT adapter directory (adapter_config.json +
// adapter_model.safetensors in PEFT's naming and layout, written here) equals the same adapter in
// GGUF form; malformed PEFT directories give clear errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "adapters/lora_adapter.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tensor/half.h"
#include "tests/support/safetensors_writer.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

using odlm::testing::SharedTestdataPath;
using odlm::testing::StTensor;

constexpr const char* kHfModule[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                     "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                     "mlp.down_proj"};

std::string Bytes(const std::vector<float>& v, const std::string& dtype) {
  if (dtype == "F32") return odlm::testing::FloatBytes(v);
  std::string s(v.size() * 2, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = dtype == "F16" ? FloatToHalf(v[i]) : FloatToBf16(v[i]);
    std::memcpy(&s[2 * i], &h, 2);
  }
  return s;
}

// GGUF rows of q/k → Hugging Face order (the inverse of the converter's per-head permutation).
std::vector<float> UnpermuteRows(const std::vector<float>& b, int64_t r, int heads, int hd) {
  std::vector<float> out(b.size());
  for (int h = 0; h < heads; ++h) {
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < hd / 2; ++i) {
        const int64_t hf = static_cast<int64_t>(h) * hd + j * (hd / 2) + i;
        const int64_t gg = static_cast<int64_t>(h) * hd + 2 * i + j;
        std::memcpy(&out[hf * r], &b[gg * r], r * sizeof(float));
      }
    }
  }
  return out;
}

class PeftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (odlm::testing::SharedTestdataDir().empty()) return;
    auto file = GgufFile::Open(SharedTestdataPath("models/tiny-llama-f32.gguf"));
    ASSERT_TRUE(file.ok());
    file_ = std::move(file).value();
    auto model = LlamaModel::Load(*file_);
    ASSERT_TRUE(model.ok());
    model_ = std::move(model).value();
    base_ = model_->LoraBase();
    auto gguf = LoraAdapter::Load(SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf"), base_);
    ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
    gguf_ = std::move(gguf).value();
    dir_ =
        std::filesystem::temp_directory_path() / ("odlm_peft_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // The GGUF adapter's tensors in PEFT's names, layout and `dtype`.
  std::vector<StTensor> PeftTensors(const std::string& dtype) const {
    std::vector<StTensor> t;
    for (const LoraPair& p : gguf_->pairs()) {
      const std::string prefix = "base_model.model.model.layers." + std::to_string(p.layer) + "." +
                                 kHfModule[static_cast<int>(p.target)];
      std::vector<float> b = p.b;
      if (p.target == LoraTarget::kAttnQ)
        b = UnpermuteRows(b, p.rank, base_.n_head, base_.head_dim);
      if (p.target == LoraTarget::kAttnK) {
        b = UnpermuteRows(b, p.rank, base_.n_head_kv, base_.head_dim);
      }
      t.push_back({prefix + ".lora_A.weight", dtype, {p.rank, p.n_in}, Bytes(p.a, dtype)});
      t.push_back({prefix + ".lora_B.weight", dtype, {p.n_out, p.rank}, Bytes(b, dtype)});
    }
    return t;
  }
  void WriteDir(const std::vector<StTensor>& tensors, const std::string& config) const {
    std::ofstream(dir_ / "adapter_config.json") << config;
    std::ofstream(dir_ / "adapter_model.safetensors", std::ios::binary)
        << odlm::testing::SafetensorsFileBytes(tensors);
  }
  static std::string Config(int r = 8, double alpha = 16) {
    return "{\"peft_type\": \"LORA\", \"r\": " + std::to_string(r) +
           ", \"lora_alpha\": " + std::to_string(alpha) +
           ", \"target_modules\": [\"q_proj\", \"v_proj\", \"o_proj\", \"down_proj\"],"
           " \"lora_dropout\": 0.05, \"bias\": \"none\", \"use_rslora\": false,"
           " \"rank_pattern\": {}, \"alpha_pattern\": {}, \"task_type\": \"CAUSAL_LM\"}";
  }

  std::vector<float> Logits(const LoraAdapter& a) {
    const std::vector<int32_t> tokens = {1, 17, 250, 3, 99, 411, 7, 8, 300};
    KvCache cache({.n_layer = base_.n_layer,
                   .kv_dim = model_->config().kv_dim(),
                   .type = DType::kF32,
                   .chunk_tokens = 16,
                   .max_tokens = 64});
    EXPECT_TRUE(cache.Reserve(16).ok());
    KvCacheView view = cache.View();
    const ActiveLora set[] = {{&a, 1.0f}};
    SequenceStep step{tokens.data(), static_cast<int32_t>(tokens.size()), &view, true, set};
    std::vector<float> logits;
    ThreadPool pool(2);
    EXPECT_TRUE(model_->Forward({&step, 1}, &pool, &logits).ok());
    return logits;
  }

  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<LlamaModel> model_;
  LoraBaseShape base_;
  std::unique_ptr<LoraAdapter> gguf_;
  std::filesystem::path dir_;
};

TEST_F(PeftTest, F32PeftEqualsGgufExactly) {
  REQUIRE_SHARED_TESTDATA();
  WriteDir(PeftTensors("F32"), Config());
  auto peft = LoraAdapter::Load(dir_.string(), base_);
  ASSERT_TRUE(peft.ok()) << peft.status().ToString();
  EXPECT_EQ((*peft)->alpha(), gguf_->alpha());
  ASSERT_EQ((*peft)->pairs().size(), gguf_->pairs().size());
  for (const LoraPair& p : gguf_->pairs()) {
    const LoraPair* q = (*peft)->Find(p.layer, p.target);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->a, p.a);
    EXPECT_EQ(q->b, p.b);
  }
  EXPECT_EQ(Logits(**peft), Logits(*gguf_));
}

TEST_F(PeftTest, HalfPrecisionPeftMatchesGguf) {
  REQUIRE_SHARED_TESTDATA();
  for (const std::string dtype : {"F16", "BF16"}) {
    WriteDir(PeftTensors(dtype), Config());
    auto peft = LoraAdapter::Load((dir_ / "adapter_model.safetensors").string(), base_);
    ASSERT_TRUE(peft.ok()) << peft.status().ToString();
    const auto a = Logits(**peft), b = Logits(*gguf_);
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max<double>(m, std::fabs(a[i] - b[i]));
    EXPECT_LT(m, dtype == "F16" ? 2e-3 : 2e-2) << dtype;
    EXPECT_GT(m, 0.0) << dtype << ": rounding should show";
  }
}

TEST_F(PeftTest, RsLoraScalesByAlphaOverSqrtRank) {
  REQUIRE_SHARED_TESTDATA();
  std::string cfg = Config(8, 2 * std::sqrt(8.0));  // alpha/sqrt(r) = 2 = 16/8
  cfg.replace(cfg.find("\"use_rslora\": false"), 19, "\"use_rslora\": true");
  WriteDir(PeftTensors("F32"), cfg);
  auto peft = LoraAdapter::Load(dir_.string(), base_);
  ASSERT_TRUE(peft.ok()) << peft.status().ToString();
  EXPECT_NEAR((*peft)->alpha(), 16.0f, 1e-4);
}

TEST_F(PeftTest, MalformedDirectoriesGiveClearErrors) {
  REQUIRE_SHARED_TESTDATA();
  auto error = [&](const std::vector<StTensor>& t, const std::string& cfg) {
    WriteDir(t, cfg);
    auto a = LoraAdapter::Load(dir_.string(), base_);
    EXPECT_FALSE(a.ok());
    return a.ok() ? std::string() : a.status().ToString();
  };
  const auto good = PeftTensors("F32");
  // Config rank differs from the tensors'.
  std::string e = error(good, Config(4));
  EXPECT_NE(e.find("rank mismatch"), std::string::npos) << e;
  // A dtype that is not F32/F16/BF16.
  auto wrong = good;
  wrong[0].dtype = "I32";
  e = error(wrong, Config());
  EXPECT_NE(e.find("dtype I32"), std::string::npos) << e;
  // lora_B missing.
  auto half = good;
  half.erase(half.begin() + 1);
  e = error(half, Config());
  EXPECT_NE(e.find("no lora_B"), std::string::npos) << e;
  // A module the config does not target.
  auto extra = good;
  extra[0].name = "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight";
  extra[1].name = "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight";
  e = error(extra, Config());
  EXPECT_NE(e.find("not among the config's target_modules"), std::string::npos) << e;
  // Something that is not a LoRA weight of a layer projection.
  auto head = good;
  head.push_back({"base_model.model.lm_head.weight", "F32", {1}, odlm::testing::FloatBytes({1})});
  e = error(head, Config());
  EXPECT_NE(e.find("lm_head"), std::string::npos) << e;
  // Bad JSON config, DoRA, and a missing directory.
  e = error(good, "{\"r\": 8,}");
  EXPECT_NE(e.find("adapter_config.json"), std::string::npos) << e;
  e = error(good, "{\"r\": 8, \"lora_alpha\": 16, \"use_dora\": true}");
  EXPECT_NE(e.find("use_dora"), std::string::npos) << e;
  // A truncated safetensors file.
  WriteDir(good, Config());
  std::filesystem::resize_file(dir_ / "adapter_model.safetensors", 100);
  auto t = LoraAdapter::Load(dir_.string(), base_);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("past the end"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace odlm
