// tests/model_quantize_test.cc — `odlm quantize`'s converter: a quantized f32 model is the very
// file gen-model writes in that type (the same rule and the same encoders), for any thread count;
// fallbacks for rows a block does not divide; nothing written on errors.
#include "model/quantize_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gguf/gguf_reader.h"
#include "model_gen/model_generator.h"
#include "platform/file_util.h"

namespace odlm {
namespace {

ModelGenOptions Small(const std::string& type, int64_t n_ff = 512) {
  ModelGenOptions o;
  o.type = type;
  o.n_embd = 256;
  o.n_layer = 3;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = n_ff;
  o.n_vocab = 300;
  o.seed = 11;
  o.name = "quantize-test";
  return o;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/quantize_" + std::to_string(::getpid()) + "_" + name;
}

std::string Read(const std::string& path) {
  StatusOr<std::string> s = ReadFileToString(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : "";
}

class QuantizeModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(QuantizeModelTest, EqualsTheFileGenModelWritesInThatType) {
  const std::string mix = GetParam();
  const std::string f32 = TempPath("f32.gguf"), direct = TempPath("direct.gguf");
  const std::string one = TempPath("one.gguf"), two = TempPath("two.gguf");
  ASSERT_TRUE(GenerateModel(Small("f32"), f32, 1).ok());
  ASSERT_TRUE(GenerateModel(Small(mix), direct, 1).ok());
  StatusOr<QuantizeReport> r1 = QuantizeModelFile(f32, one, mix, nullptr);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ThreadPool pool(2);
  StatusOr<QuantizeReport> r2 = QuantizeModelFile(f32, two, mix, &pool);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(Read(one), Read(direct)) << mix;
  EXPECT_EQ(Read(two), Read(direct)) << mix << " with 2 threads";
  // 3 layers × 7 matrices + token_embd + output are converted; 3 × 2 norms + output_norm copied.
  EXPECT_EQ(r1->tensors_converted, 23);
  EXPECT_EQ(r1->tensors_copied, 7);
  EXPECT_LT(r1->bytes_out, r1->bytes_in);
  for (const std::string& p : {f32, direct, one, two}) std::filesystem::remove(p);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeModelTest,
                         ::testing::Values("q8_0", "q4_0", "q5_1", "q6_K", "q4_K_M", "f16"));

TEST(QuantizeModel, RowsABlockDoesNotDivideFallBackAsLlamaCppDoes) {
  // ffn_down's rows are n_ff = 384 long: Q4_K (256-blocks) falls back to Q5_0 there.
  const std::string f32 = TempPath("fb32.gguf"), out = TempPath("fbq.gguf");
  ASSERT_TRUE(GenerateModel(Small("f32", 384), f32, 1).ok());
  ASSERT_TRUE(QuantizeModelFile(f32, out, "q4_K", nullptr).ok());
  StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(out);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (const GgufTensorInfo& t : (*f)->tensors()) {
    if (t.dims.size() == 1) {
      EXPECT_EQ(t.type, DType::kF32) << t.name;
    } else if (t.name.find("ffn_down") != std::string::npos) {
      EXPECT_EQ(t.type, DType::kQ5_0) << t.name;
    } else {
      EXPECT_EQ(t.type, DType::kQ4_K) << t.name;
    }
  }
  EXPECT_EQ(*(*f)->GetUInt("general.file_type"), 14u);  // Q4_K_S
  EXPECT_EQ(*(*f)->GetString("general.name"), "quantize-test");
  std::filesystem::remove(f32);
  std::filesystem::remove(out);
}

TEST(QuantizeModel, ErrorsWriteNothing) {
  const std::string f32 = TempPath("err32.gguf"), out = TempPath("errq.gguf");
  ASSERT_TRUE(GenerateModel(Small("f32"), f32, 1).ok());
  StatusOr<QuantizeReport> bad_type = QuantizeModelFile(f32, out, "q3_X", nullptr);
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_type.status().message().find("q4_K_M"), std::string::npos)
      << "the error lists the accepted types: " << bad_type.status().message();
  EXPECT_FALSE(std::filesystem::exists(out));
  const std::string before = Read(f32);
  StatusOr<QuantizeReport> onto_itself = QuantizeModelFile(f32, f32, "q8_0", nullptr);
  EXPECT_EQ(onto_itself.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(f32), before);
  StatusOr<QuantizeReport> missing = QuantizeModelFile(TempPath("none.gguf"), out, "q8_0", nullptr);
  EXPECT_FALSE(missing.ok());
  EXPECT_FALSE(std::filesystem::exists(out));
  // A file that is not GGUF.
  ASSERT_TRUE(WriteFileAtomically(TempPath("junk.gguf"), "not a model").ok());
  EXPECT_FALSE(QuantizeModelFile(TempPath("junk.gguf"), out, "q8_0", nullptr).ok());
  EXPECT_FALSE(std::filesystem::exists(out));
  std::filesystem::remove(f32);
  std::filesystem::remove(TempPath("junk.gguf"));
}

}  // namespace
}  // namespace odlm
