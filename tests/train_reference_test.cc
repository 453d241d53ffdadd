// tests/train_reference_test.cc — train/ against ../shared/testdata/train/ (PyTorch autograd in
// float64): the role-weighted loss, every full fine-tuning gradient of tiny-llama and tiny-qwen2,
// LoRA gradients on the F32 and the Q4_0 base, and three AdamW steps with clipping — each within
// the tolerances of the testdata README, with and without activation checkpointing.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/thread_pool.h"
#include "gguf/gguf_reader.h"
#include "tests/support/shared_testdata.h"
#include "train/forward_backward.h"
#include "train/optimizer.h"
#include "train/trainable_model.h"

namespace odlm::train {
namespace {

using nlohmann::json;
using testing::SharedTestdataPath;

struct Batch {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<float>> weights;
  double weight_sum = 0.0;
  std::vector<TrainSequence> View() const {
    std::vector<TrainSequence> out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      out.push_back({tokens[i].data(), weights[i].data(), static_cast<int32_t>(tokens[i].size())});
    }
    return out;
  }
};

Batch LoadBatch() {
  std::ifstream in(SharedTestdataPath("train/batch.json"));
  const json j = json::parse(in);
  Batch b;
  for (const auto& s : j["sequences"]) {
    b.tokens.push_back(s["tokens"].get<std::vector<int32_t>>());
    b.weights.push_back(s["weights"].get<std::vector<float>>());
    for (size_t t = 1; t < b.weights.back().size(); ++t) b.weight_sum += b.weights.back()[t];
  }
  return b;
}

json Expected() {
  std::ifstream in(SharedTestdataPath("train/expected.json"));
  return json::parse(in);
}

std::unique_ptr<GgufFile> Open(const std::string& rel) {
  auto f = GgufFile::Open(SharedTestdataPath(rel));
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? std::move(f).value() : nullptr;
}

// Every param's gradient against the same-named tensor of `ref_file`.
void ExpectGradsMatch(const ParamSet& params, const GgufFile& ref, double tol_max, double tol_l2) {
  size_t matched = 0;
  for (const Param& p : params) {
    const GgufTensorInfo* t = ref.FindTensor(p.name);
    ASSERT_NE(t, nullptr) << p.name;
    ASSERT_EQ(t->n_elements, p.n) << p.name;
    ASSERT_EQ(t->type, DType::kF32);
    const float* r = reinterpret_cast<const float*>(t->data);
    double max_ref = 0, max_diff = 0, l2_ref = 0, l2_diff = 0;
    for (int64_t i = 0; i < p.n; ++i) {
      const double diff = static_cast<double>(p.grad[i]) - r[i];
      max_ref = std::max(max_ref, std::fabs(static_cast<double>(r[i])));
      max_diff = std::max(max_diff, std::fabs(diff));
      l2_ref += static_cast<double>(r[i]) * r[i];
      l2_diff += diff * diff;
    }
    EXPECT_LE(max_diff / max_ref, tol_max) << p.name;
    EXPECT_LE(std::sqrt(l2_diff / l2_ref), tol_l2) << p.name;
    ++matched;
  }
  EXPECT_EQ(matched, params.size());
}

class TrainReferenceTest : public ::testing::TestWithParam<bool> {};  // param: checkpointing

double RunGrad(TrainableModel* tm, const Batch& b, bool checkpoint, ThreadPool* pool) {
  ZeroGrads(&tm->params());
  ForwardBackward fb(tm);
  ForwardBackwardOptions o;
  o.checkpoint = checkpoint;
  o.logit_rows = 17;  // several head chunks
  auto r = fb.Run(b.View(), b.weight_sum, o, pool);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return NAN;
  EXPECT_NEAR(r->weight, b.weight_sum, 1e-9);
  return r->weighted_loss / r->weight;
}

TEST_P(TrainReferenceTest, FullGradients) {
  REQUIRE_SHARED_TESTDATA();
  const Batch b = LoadBatch();
  const json e = Expected();
  const json& tol = e["tolerances"];
  ThreadPool pool(2);
  for (const std::string model : {"tiny-llama", "tiny-qwen2"}) {
    SCOPED_TRACE(model);
    auto file = Open("models/" + model + "-f32.gguf");
    ASSERT_NE(file, nullptr);
    auto tm = TrainableModel::Full(*file);
    ASSERT_TRUE(tm.ok()) << tm.status().ToString();
    const double loss = RunGrad(tm->get(), b, GetParam(), &pool);
    const std::string ref_name = "grad-" + model + "-f32.gguf";
    EXPECT_NEAR(loss, e["files"][ref_name]["loss"].get<double>(), tol["loss_abs"].get<double>());
    auto ref = Open("train/" + ref_name);
    ASSERT_NE(ref, nullptr);
    EXPECT_EQ((*tm)->params().size(), ref->tensors().size());
    ExpectGradsMatch((*tm)->params(), *ref, tol["grad_max_rel"], tol["grad_rel_l2"]);
  }
}

TEST_P(TrainReferenceTest, LoraGradientsOnF32AndQ4_0Bases) {
  REQUIRE_SHARED_TESTDATA();
  const Batch b = LoadBatch();
  const json e = Expected();
  const json& tol = e["tolerances"];
  ThreadPool pool(2);
  for (const std::string type : {"f32", "q4_0"}) {
    SCOPED_TRACE(type);
    auto file = Open("models/tiny-llama-" + type + ".gguf");
    ASSERT_NE(file, nullptr);
    LoraSpec spec;
    spec.from_adapter = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
    spec.arithmetic = BaseArithmetic::kF32;
    auto tm = TrainableModel::Lora(*file, spec);
    ASSERT_TRUE(tm.ok()) << tm.status().ToString();
    const double loss = RunGrad(tm->get(), b, GetParam(), &pool);
    const std::string ref_name = "lora-grad-tiny-llama-" + type + "-r8.gguf";
    EXPECT_NEAR(loss, e["files"][ref_name]["loss"].get<double>(), tol["loss_abs"].get<double>());
    auto ref = Open("train/" + ref_name);
    ASSERT_NE(ref, nullptr);
    EXPECT_EQ((*tm)->params().size(), ref->tensors().size());
    ExpectGradsMatch((*tm)->params(), *ref, tol["grad_max_rel"], tol["grad_rel_l2"]);
  }
}

TEST_P(TrainReferenceTest, ThreeAdamWStepsWithClipping) {
  REQUIRE_SHARED_TESTDATA();
  const Batch b = LoadBatch();
  const json e = Expected();
  const json& tol = e["tolerances"];
  const json& adamw = e["adamw"];
  ThreadPool pool(2);
  auto file = Open("models/tiny-llama-f32.gguf");
  ASSERT_NE(file, nullptr);
  LoraSpec spec;
  spec.from_adapter = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
  spec.arithmetic = BaseArithmetic::kF32;
  auto tm_or = TrainableModel::Lora(*file, spec);
  ASSERT_TRUE(tm_or.ok()) << tm_or.status().ToString();
  TrainableModel& tm = **tm_or;
  std::vector<std::vector<float>> start;
  for (const Param& p : tm.params()) start.emplace_back(p.data, p.data + p.n);
  OptimizerOptions oo;
  oo.beta1 = adamw["betas"][0];
  oo.beta2 = adamw["betas"][1];
  oo.eps = adamw["eps"];
  oo.weight_decay = adamw["weight_decay"];
  Optimizer opt(oo);
  opt.Init(tm.params());
  for (int step = 1; step <= 3; ++step) {
    SCOPED_TRACE(step);
    const std::string ref_name = "adamw-step" + std::to_string(step) + "-tiny-llama-f32-r8.gguf";
    const json& ex = e["files"][ref_name];
    const double loss = RunGrad(&tm, b, GetParam(), &pool);
    EXPECT_NEAR(loss, ex["loss_before_step"].get<double>(), tol["loss_abs"].get<double>());
    double coef = 0;
    const double norm = ClipGradNorm(&tm.params(), adamw["max_grad_norm"], &coef);
    EXPECT_NEAR(norm, ex["grad_norm_total_before_clip"].get<double>(),
                5e-5 * ex["grad_norm_total_before_clip"].get<double>());
    EXPECT_NEAR(coef, ex["clip_coef"].get<double>(), 5e-5);
    opt.Step(&tm.params(), adamw["lr"]);
    auto ref = Open("train/" + ref_name);
    ASSERT_NE(ref, nullptr);
    for (size_t k = 0; k < tm.params().size(); ++k) {
      const Param& p = tm.params()[k];
      const GgufTensorInfo* t = ref->FindTensor(p.name);
      ASSERT_NE(t, nullptr) << p.name;
      const float* r = reinterpret_cast<const float*>(t->data);
      double max_abs = 0, l2_diff = 0, l2_move = 0;
      for (int64_t i = 0; i < p.n; ++i) {
        const double diff = static_cast<double>(p.data[i]) - r[i];
        const double move = static_cast<double>(r[i]) - start[k][i];
        max_abs = std::max(max_abs, std::fabs(diff));
        l2_diff += diff * diff;
        l2_move += move * move;
      }
      EXPECT_LE(max_abs, tol["adamw_param_max_abs"].get<double>()) << p.name;
      EXPECT_LE(std::sqrt(l2_diff / l2_move), tol["adamw_update_rel_l2"].get<double>()) << p.name;
    }
    if (step == 3) {
      const double after = RunGrad(&tm, b, GetParam(), &pool);
      EXPECT_NEAR(after, ex["loss_after_step"].get<double>(), tol["loss_abs"].get<double>());
    }
  }
}

// The fast path on a quantized base (inference's int8 kernels forward, a Q8_0 Wᵀ backward) is an
// approximation of the exact gradients, not a different function: loss within 0.02 nats and every
// LoRA gradient within 5% (L2) of the float64 reference on the Q4_0 base.
TEST_P(TrainReferenceTest, Int8BaseArithmeticApproximatesTheReference) {
  REQUIRE_SHARED_TESTDATA();
  const Batch b = LoadBatch();
  const json e = Expected();
  ThreadPool pool(2);
  auto file = Open("models/tiny-llama-q4_0.gguf");
  ASSERT_NE(file, nullptr);
  LoraSpec spec;
  spec.from_adapter = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
  spec.arithmetic = BaseArithmetic::kInt8;
  auto tm = TrainableModel::Lora(*file, spec, &pool);
  ASSERT_TRUE(tm.ok()) << tm.status().ToString();
  EXPECT_TRUE((*tm)->int8_base());
  const double loss = RunGrad(tm->get(), b, GetParam(), &pool);
  EXPECT_NEAR(loss, e["files"]["lora-grad-tiny-llama-q4_0-r8.gguf"]["loss"].get<double>(), 0.02);
  auto ref = Open("train/lora-grad-tiny-llama-q4_0-r8.gguf");
  ASSERT_NE(ref, nullptr);
  ExpectGradsMatch((*tm)->params(), *ref, 0.1, 0.05);
}

// The architectures the backward pass does not cover are refused with a clear error, never
// trained with a silently wrong gradient.
TEST(TrainArchitectures, InferenceOnlyArchitecturesAreRefused) {
  REQUIRE_SHARED_TESTDATA();
  for (const std::string model : {"tiny-phi3", "tiny-gemma2", "tiny-qwen3", "tiny-gemma3"}) {
    SCOPED_TRACE(model);
    auto file = Open("models/" + model + "-f32.gguf");
    ASSERT_NE(file, nullptr);
    const auto full = TrainableModel::Full(*file);
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(full.status().message().find("llama and qwen2"), std::string::npos)
        << full.status().ToString();
    const auto lora = TrainableModel::Lora(*file, LoraSpec{});
    ASSERT_FALSE(lora.ok());
    EXPECT_EQ(lora.status().code(), StatusCode::kUnimplemented);
  }
}

INSTANTIATE_TEST_SUITE_P(Checkpointing, TrainReferenceTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "checkpoint" : "saved"; });

}  // namespace
}  // namespace odlm::train
