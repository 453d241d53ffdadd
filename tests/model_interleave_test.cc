// tests/model_interleave_test.cc — a model loaded with interleaved weight copies
// (model/weight_interleave.h) computes what the row layout computes: the copies are made exactly
// where this CPU has a kernel for them, the file's bytes stay untouched, and the logits of a
// prompt and a decode step agree with the row-major run to the kernels' summation-order tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/interleave.h"
#include "model/llama_model.h"
#include "tests/support/generated_model.h"
#include "tests/support/prompt_logits.h"

namespace odlm {
namespace {

struct ModelRun {
  std::vector<float> logits;  // every prompt row, then the decode step's row
  int64_t interleaved_bytes = 0;
};

ModelRun RunModel(const GgufFile& file, bool interleave, ThreadPool* pool) {
  ModelRun out;
  auto model = LlamaModel::Load(file, {.interleave = interleave, .pool = pool});
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return out;
  out.interleaved_bytes = (*model)->interleaved_bytes();
  out.logits = testing::PromptThenStepLogits(**model, 21, pool);
  return out;
}

class ModelInterleaveTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ModelInterleaveTest, SameLogitsAsTheRowLayout) {
  const std::string type = GetParam();
  const std::string bytes = testing::GeneratedModelBytes(testing::SmallModelOptions(3, type));
  auto file = testing::ParseGgufBytes(bytes);
  ASSERT_NE(file, nullptr);
  const std::string before = bytes;
  ThreadPool pool(2);
  const ModelRun rows = RunModel(*file, false, &pool);
  const ModelRun x8 = RunModel(*file, true, &pool);
  EXPECT_EQ(rows.interleaved_bytes, 0);
  const DType dtype = type == "q4_0" ? DType::kQ4_0 : DType::kQ8_0;
  if (kernels::InterleavedLayoutPays(dtype)) {
    EXPECT_GT(x8.interleaved_bytes, 0) << type;
  } else {
    EXPECT_EQ(x8.interleaved_bytes, 0) << type;
    std::printf("  %s: no interleaved kernel on this CPU; both runs use the row layout\n",
                type.c_str());
  }
  EXPECT_EQ(bytes, before) << "the file's bytes must not change";
  ASSERT_EQ(rows.logits.size(), x8.logits.size());
  ASSERT_FALSE(rows.logits.empty());
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < rows.logits.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(rows.logits[i])));
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(rows.logits[i]) - x8.logits[i]));
  }
  std::printf("  %s: max |logit| %.3f, max difference %.2e\n", type.c_str(), max_abs, max_diff);
  EXPECT_LE(max_diff, 1e-4 * std::max(1.0, max_abs)) << type;
}

INSTANTIATE_TEST_SUITE_P(Types, ModelInterleaveTest, ::testing::Values("q4_0", "q8_0"));

}  // namespace
}  // namespace odlm
