// tests/model_load_errors_test.cc — what a user sees for models odlm cannot run: unsupported
// architectures, missing tensors (all named at once), wrong shapes, bad hyperparameters.
#include <gtest/gtest.h>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "model/llama_model.h"
#include "model_gen/model_generator.h"

namespace odlm {
namespace {

class ModelLoadErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_path_ = std::string(::testing::TempDir()) + "/load_errors_base.gguf";
    ModelGenOptions o;
    o.n_embd = 64;
    o.n_layer = 2;
    o.n_head = 4;
    o.n_head_kv = 2;
    o.n_ff = 128;
    o.n_vocab = 300;
    o.type = "f32";
    ASSERT_TRUE(GenerateModel(o, base_path_, 1).ok());
    auto f = GgufFile::Open(base_path_);
    ASSERT_TRUE(f.ok());
    base_ = std::move(f).value();
  }

  // A copy of the base model without the tensors in `drop`, with metadata `edit` applied.
  Status LoadVariant(const std::vector<std::string>& drop,
                     const std::function<void(GgufWriter*)>& edit, std::string* error) {
    GgufWriter w;
    for (const auto& [k, v] : base_->metadata()) w.Set(k, v);
    for (const auto& t : base_->tensors()) {
      if (std::find(drop.begin(), drop.end(), t.name) != drop.end()) continue;
      RETURN_IF_ERROR(
          w.AddTensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes)));
    }
    if (edit) edit(&w);
    const std::string path = std::string(::testing::TempDir()) + "/load_errors_variant.gguf";
    RETURN_IF_ERROR(w.WriteFile(path));
    auto f = GgufFile::Open(path);
    if (!f.ok()) return f.status();
    auto m = LlamaModel::Load(**f);
    *error = m.ok() ? "" : m.status().ToString();
    return Status::Ok();
  }

  std::string base_path_;
  std::unique_ptr<GgufFile> base_;
};

TEST_F(ModelLoadErrorsTest, TheUnmodifiedModelLoads) {
  std::string error;
  ASSERT_TRUE(LoadVariant({}, nullptr, &error).ok());
  EXPECT_EQ(error, "");
}

TEST_F(ModelLoadErrorsTest, UnsupportedArchitectureIsNamed) {
  std::string error;
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->SetString("general.architecture", "mamba"); }, &error)
                  .ok());
  EXPECT_NE(error.find("UNIMPLEMENTED"), std::string::npos) << error;
  EXPECT_NE(error.find("'mamba'"), std::string::npos) << error;
  EXPECT_NE(error.find("llama, qwen2"), std::string::npos) << error;
}

TEST_F(ModelLoadErrorsTest, MixtureOfExpertsIsNamed) {
  std::string error;
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->SetU32("llama.expert_count", 8); }, &error)
                  .ok());
  EXPECT_NE(error.find("UNIMPLEMENTED"), std::string::npos) << error;
  EXPECT_NE(error.find("mixture-of-experts layers (8 experts)"), std::string::npos) << error;
}

TEST_F(ModelLoadErrorsTest, ValueLengthOtherThanKeyLengthIsNamed) {
  std::string error;
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->SetU32("llama.attention.value_length", 48); }, &error)
                  .ok());
  EXPECT_NE(error.find("UNIMPLEMENTED"), std::string::npos) << error;
  EXPECT_NE(error.find("value_length 48"), std::string::npos) << error;
}

TEST_F(ModelLoadErrorsTest, EveryMissingTensorIsListed) {
  std::string error;
  ASSERT_TRUE(LoadVariant({"blk.1.ffn_up.weight", "output_norm.weight", "blk.0.attn_k.weight"},
                          nullptr, &error)
                  .ok());
  EXPECT_NE(error.find("lacks 3 tensor(s)"), std::string::npos) << error;
  for (const char* name : {"blk.1.ffn_up.weight", "output_norm.weight", "blk.0.attn_k.weight"}) {
    EXPECT_NE(error.find(name), std::string::npos) << error;
  }
}

TEST_F(ModelLoadErrorsTest, WrongShapesAndHyperparametersAreErrors) {
  std::string error;
  // The file says 5 heads: 64 is not a multiple of 5.
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->SetU32("llama.attention.head_count", 5); }, &error)
                  .ok());
  EXPECT_NE(error.find("not a multiple of head_count"), std::string::npos) << error;
  // A layer count the tensors do not back.
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->SetU32("llama.block_count", 3); }, &error)
                  .ok());
  EXPECT_NE(error.find("blk.2.attn_q.weight"), std::string::npos) << error;
  // The FFN size disagrees with the tensors.
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->SetU32("llama.feed_forward_length", 96); }, &error)
                  .ok());
  EXPECT_NE(error.find("ffn_gate.weight has shape [64, 128], expected [64, 96]"), std::string::npos)
      << error;
  // A missing required key.
  ASSERT_TRUE(LoadVariant(
                  {}, [](GgufWriter* w) { w->Remove("llama.embedding_length"); }, &error)
                  .ok());
  EXPECT_NE(error.find("llama.embedding_length"), std::string::npos) << error;
}

}  // namespace
}  // namespace odlm
