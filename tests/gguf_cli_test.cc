// End to end: the built `odlm` binary's gen-model and gguf-info commands, their exit codes, and
// the random test model the build generates.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gguf/gguf_reader.h"
#include "platform/file_util.h"
#include "tests/support/shared_testdata.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using RunResult = testing::ProcessResult;

std::string ReadAll(const std::string& path) {
  auto s = ReadFileToString(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : "";
}

class GgufCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("odlm_gguf_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `odlm <args>` (words; testing::SplitArgs).
  RunResult Odlm(const std::string& args) { return testing::RunOdlm(args); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

constexpr const char* kSmallModel =
    "--dim 64 --layers 1 --heads 2 --kv-heads 1 --ffn 64 --vocab 300 --type q4_0";

TEST_F(GgufCliTest, GenModelWritesADeterministicLoadableModel) {
  RunResult r = Odlm("gen-model -t 2 -o " + Path("a.gguf") + " " + kSmallModel + " --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote"), std::string::npos);
  r = Odlm("gen-model -t 1 -o " + Path("b.gguf") + " " + kSmallModel + " --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a = ReadAll(Path("a.gguf"));
  EXPECT_EQ(a, ReadAll(Path("b.gguf"))) << "same options and seed must give identical bytes";

  auto f = GgufFile::Open(Path("a.gguf"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ(*(*f)->GetUInt("llama.embedding_length"), 64u);
  EXPECT_EQ(*(*f)->GetUInt("llama.attention.head_count_kv"), 1u);
  EXPECT_EQ((*f)->FindTensor("output.weight")->type, DType::kQ4_0);
  EXPECT_EQ((*f)->FindTensor("token_embd.weight")->dims, (std::vector<int64_t>{64, 300}));

  r = Odlm("gen-model -o " + Path("c.gguf") + " " + kSmallModel + " --seed 6");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(a, ReadAll(Path("c.gguf")));
}

TEST_F(GgufCliTest, GenModelPresetAndQwen2) {
  RunResult r = Odlm("gen-model -o " + Path("q.gguf") +
                     " --preset tiny --arch qwen2 --layers 1 --type q4_K_M");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = GgufFile::Open(Path("q.gguf"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*(*f)->GetUInt("qwen2.embedding_length"), 256u);  // from the preset
  EXPECT_EQ(*(*f)->GetUInt("qwen2.block_count"), 1u);         // the flag wins
  EXPECT_EQ((*f)->FindTensor("output.weight"), nullptr);
  EXPECT_NE((*f)->FindTensor("blk.0.attn_q.bias"), nullptr);
}

TEST_F(GgufCliTest, GenModelUsageErrors) {
  EXPECT_EQ(Odlm("gen-model").exit_code, 2);  // -o is required
  RunResult r = Odlm("gen-model -o " + Path("x.gguf") + " --type q9_9");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("q9_9"), std::string::npos) << r.err;
  EXPECT_EQ(Odlm("gen-model -o " + Path("x.gguf") + " --preset enormous").exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(Path("x.gguf")));
  r = Odlm("gen-model --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--kv-heads"), std::string::npos);
}

TEST_F(GgufCliTest, GgufInfoPrintsMetadataAndTensorTable) {
  ASSERT_EQ(Odlm("gen-model -o " + Path("a.gguf") + " " + kSmallModel).exit_code, 0);
  RunResult r = Odlm("gguf-info " + Path("a.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"GGUF v3", "general.architecture", "\"llama\"", "llama.embedding_length",
                           "= 64", "[string x 300]", ", ...]", "tensors: 12", "token_embd.weight",
                           "q4_0", "64 x 300", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight",
                           "f32", "odlm: runs this model (llama: 1 layers, dim 64"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << r.out;
  }
  r = Odlm("gguf-info --no-tensors " + Path("a.gguf"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("token_embd.weight"), std::string::npos);
}

TEST_F(GgufCliTest, GenModelPhi3AndWhetherOdlmRunsAFile) {
  RunResult r = Odlm("gen-model -o " + Path("p.gguf") + " " + kSmallModel + " --arch phi3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Odlm("gguf-info " + Path("p.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"odlm: runs this model (phi3: 1 layers", "blk.0.attn_qkv.weight",
                           "64 x 128", "blk.0.ffn_up.weight"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << r.out;
  }
  EXPECT_EQ(r.out.find("ffn_gate"), std::string::npos) << r.out;
  // The same file with another architecture name (the string value, length-prefixed, patched in
  // place): gguf-info still prints it, and says why odlm does not run it.
  std::string bytes = ReadAll(Path("p.gguf"));
  const std::string value = std::string("\x04\0\0\0\0\0\0\0phi3", 12);
  const size_t at = bytes.find(value);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at + 8, 4, "rwkv");
  {
    std::ofstream out(Path("rwkv.gguf"), std::ios::binary);
    out << bytes;
  }
  r = Odlm("gguf-info " + Path("rwkv.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("odlm: does not run this model: architecture 'rwkv' is not supported "
                       "(supported: llama, qwen2, qwen3, phi3, gemma2, gemma3)"),
            std::string::npos)
      << r.out;
}

TEST_F(GgufCliTest, GgufInfoErrors) {
  {
    std::ofstream bad(Path("bad.gguf"), std::ios::binary);
    bad << "GGUF\x03";  // truncated version
  }
  RunResult r = Odlm("gguf-info " + Path("bad.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.gguf"), std::string::npos) << r.err;
  r = Odlm("gguf-info " + Path("missing.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_EQ(Odlm("gguf-info").exit_code, 2);
  EXPECT_EQ(Odlm("gguf-info a b").exit_code, 2);
  r = Odlm("gguf-info --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--max-items"), std::string::npos);
}

TEST_F(GgufCliTest, GgufInfoOnReferenceModel) {
  REQUIRE_SHARED_TESTDATA();
  RunResult r = Odlm("gguf-info " + testing::SharedTestdataPath("models/tiny-llama-q4_k_m.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("q6_K"), std::string::npos);
  EXPECT_NE(r.out.find("q4_K"), std::string::npos);
  EXPECT_NE(r.out.find("768 x 256"), std::string::npos);
}

TEST_F(GgufCliTest, BuildGeneratedTheRandomTestModel) {
  const std::string path = std::string(ODLM_BINARY_DIR) + "/models/random.gguf";
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString() << " (the build's odlm_random_model target)";
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ(*(*f)->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_GT((*f)->tensors().size(), 10u);
}

}  // namespace
}  // namespace odlm
