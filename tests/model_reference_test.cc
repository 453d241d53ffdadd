// tests/model_reference_test.cc — the forward pass against reference logits computed outside the
// project (../shared/testdata/reference/*.json), for every block type and every architecture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gguf/gguf_reader.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

struct Case {
  std::string model;       // file stem under models/ and reference/
  double max_tol;          // max |Δ| vs exact over all prompt positions
  double mean_tol;         // mean |Δ|
  bool greedy_must_match;  // F32/F16: all 32 greedy tokens equal exact's
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.model; }

const Case kCases[] = {
    {"tiny-llama-f32", 0.01, 0.01, true},
    {"tiny-llama-f16", 0.01, 0.01, true},
    {"tiny-llama-bf16", 0.03, 0.03, false},
    {"tiny-llama-q8_0", 0.15, 0.02, false},
    {"tiny-llama-q4_0", 0.15, 0.02, false},
    {"tiny-llama-q4_1", 0.15, 0.02, false},
    {"tiny-llama-q5_0", 0.15, 0.02, false},
    {"tiny-llama-q5_1", 0.15, 0.02, false},
    {"tiny-llama-q2_k", 0.15, 0.02, false},
    {"tiny-llama-q3_k", 0.15, 0.02, false},
    {"tiny-llama-q4_k", 0.15, 0.02, false},
    {"tiny-llama-q5_k", 0.15, 0.02, false},
    {"tiny-llama-q6_k", 0.15, 0.02, false},
    {"tiny-llama-q4_k_m", 0.15, 0.02, false},
    {"tiny-qwen2-f32", 0.01, 0.01, true},
    {"tiny-qwen2-f16", 0.01, 0.01, true},
    {"tiny-qwen2-q8_0", 0.15, 0.02, false},
    {"tiny-qwen2-q4_0", 0.15, 0.02, false},
    {"tiny-qwen2-q4_k_m", 0.15, 0.02, false},
    // The architectures beyond llama and qwen2 (model_config.h).
    {"tiny-llama3-f32", 0.01, 0.01, true},
    {"tiny-llama3-q8_0", 0.15, 0.02, false},
    {"tiny-llama3-q4_k_m", 0.15, 0.02, false},
    {"tiny-phi3-f32", 0.01, 0.01, true},
    {"tiny-phi3-q8_0", 0.15, 0.02, false},
    {"tiny-phi3-q4_k_m", 0.15, 0.02, false},
    {"tiny-gemma2-f32", 0.01, 0.01, true},
    {"tiny-gemma2-q8_0", 0.15, 0.02, false},
    {"tiny-gemma2-q4_k_m", 0.15, 0.02, false},
    {"tiny-qwen3-f32", 0.01, 0.01, true},
    {"tiny-gemma3-f32", 0.01, 0.01, true},
};

class ModelReferenceTest : public ::testing::TestWithParam<Case> {};

std::vector<float> TopTwoGap(const float* row, int64_t n, int32_t* argmax) {
  int32_t best = 0;
  for (int32_t i = 1; i < n; ++i) {
    if (row[i] > row[best]) best = i;
  }
  float second = -INFINITY;
  for (int32_t i = 0; i < n; ++i) {
    if (i != best) second = std::max(second, row[i]);
  }
  *argmax = best;
  return {row[best] - second};
}

TEST_P(ModelReferenceTest, LogitsAndGreedyMatchReference) {
  REQUIRE_SHARED_TESTDATA();
  const Case& c = GetParam();
  auto file = GgufFile::Open(odlm::testing::SharedTestdataPath("models/" + c.model + ".gguf"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto model = LlamaModel::Load(**file);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::ifstream in(odlm::testing::SharedTestdataPath("reference/" + c.model + ".json"));
  ASSERT_TRUE(in.good());
  nlohmann::json ref = nlohmann::json::parse(in);
  const std::vector<int32_t> tokens = ref["tokens"].get<std::vector<int32_t>>();
  const auto& exact = ref["exact"]["logits"];
  const int64_t n_vocab = (*model)->config().n_vocab;
  ASSERT_EQ(exact.size(), tokens.size());
  ASSERT_EQ(static_cast<int64_t>(exact[0].size()), n_vocab);

  ThreadPool pool(2);
  KvCache cache({.n_layer = (*model)->config().n_layer,
                 .kv_dim = (*model)->config().kv_dim(),
                 .type = DType::kF32,
                 .chunk_tokens = 16,
                 .max_tokens = 256});
  ASSERT_TRUE(cache.Reserve(static_cast<int64_t>(tokens.size()) + 40).ok());
  KvCacheView view = cache.View();
  SequenceStep step{tokens.data(), static_cast<int32_t>(tokens.size()), &view, true, {}};
  std::vector<float> logits;
  ASSERT_TRUE((*model)->Forward({&step, 1}, &pool, &logits).ok());
  cache.Advance(static_cast<int64_t>(tokens.size()));
  double max_diff = 0, sum_diff = 0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    for (int64_t v = 0; v < n_vocab; ++v) {
      const double d = std::fabs(logits[p * n_vocab + v] - exact[p][v].get<double>());
      max_diff = std::max(max_diff, d);
      sum_diff += d;
    }
  }
  const double mean_diff = sum_diff / (tokens.size() * n_vocab);
  EXPECT_LE(max_diff, c.max_tol) << c.model;
  EXPECT_LE(mean_diff, c.mean_tol) << c.model;
  RecordProperty("max_abs_diff", std::to_string(max_diff));
  std::printf("[ %s ] max |Δ| %.5f  mean |Δ| %.6f vs exact\n", c.model.c_str(), max_diff,
              mean_diff);

  // Greedy continuation, 32 tokens, token by token.
  const std::vector<int32_t> want = ref["exact"]["greedy"].get<std::vector<int32_t>>();
  std::vector<float> row(logits.end() - n_vocab, logits.end());
  for (size_t i = 0; i < want.size(); ++i) {
    int32_t got = 0;
    const float gap = TopTwoGap(row.data(), n_vocab, &got)[0];
    if (got != want[i]) {
      EXPECT_FALSE(c.greedy_must_match)
          << c.model << ": greedy token " << i << " is " << got << ", reference " << want[i];
      // A quantized model may part ways only at a near-tie of the two best logits.
      EXPECT_LT(gap, 2 * c.max_tol) << c.model << ": greedy parted at token " << i
                                    << " without a near-tie (gap " << gap << ")";
      break;
    }
    view = cache.View();
    SequenceStep next{&want[i], 1, &view, false, {}};
    ASSERT_TRUE((*model)->Forward({&next, 1}, &pool, &row).ok());
    cache.Advance(1);
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, ModelReferenceTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.model;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace odlm
