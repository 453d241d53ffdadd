// tests/adapters_engine_test.cc — per-session adapter sets through the engine API: a batch mixing
// sequences with different adapters equals each run alone; registry and set semantics.
#include <gtest/gtest.h>

#include <cmath>

#include "odlm/engine.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

using odlm::testing::SharedTestdataPath;

std::unique_ptr<Engine> OpenEngine(std::vector<AdapterSpec> adapters = {}) {
  EngineOptions o;
  o.model_path = SharedTestdataPath("models/tiny-llama-f32.gguf");
  o.n_threads = 2;
  o.n_ctx = 128;
  o.kv_type = DType::kF32;
  o.adapters = std::move(adapters);
  auto e = Engine::Open(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

std::string AdapterPath() { return SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf"); }

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max<double>(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(AdaptersEngineTest, MixedAdapterBatchEqualsEachAlone) {
  REQUIRE_SHARED_TESTDATA();
  auto engine = OpenEngine();
  ASSERT_TRUE(engine);
  ASSERT_TRUE(engine->RegisterAdapter({"a", AdapterPath(), 1.0f}).ok());
  ASSERT_TRUE(engine->RegisterAdapter({"b", AdapterPath(), 1.0f}).ok());
  const std::vector<std::vector<AdapterChoice>> sets = {
      {}, {{"a", 1.0f}}, {{"a", 0.5f}}, {{"a", 0.3f}, {"b", -0.7f}}, {{"b", 1.0f}}, {{"a", 0.0f}}};
  const std::vector<std::vector<int32_t>> prompts = {
      {1, 5, 9, 200, 17}, {1, 44, 3},        {1, 300, 301, 302, 303, 304, 2}, {1, 7},
      {1, 5, 9, 200, 17}, {1, 5, 9, 200, 17}};  // the last: same prompt as the first, adapter at
                                                // scale 0
  const int kSteps = 4;

  // Alone: prefill, then greedy decode kSteps tokens, recording every logits row.
  std::vector<std::vector<std::vector<float>>> alone(sets.size());
  std::vector<std::vector<int32_t>> next_tokens(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    auto s = engine->NewSession();
    ASSERT_TRUE(engine->SetAdapters(*s, sets[i]).ok());
    std::vector<float> logits;
    ASSERT_TRUE(engine->Eval(*s, prompts[i], false, &logits).ok());
    alone[i].push_back(logits);
    for (int step = 0; step < kSteps; ++step) {
      const int32_t t =
          static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      next_tokens[i].push_back(t);
      ASSERT_TRUE(
          engine->Eval(*s, std::span<const int32_t>(&next_tokens[i].back(), 1), false, &logits)
              .ok());
      alone[i].push_back(logits);
    }
  }
  // Different adapters really give different logits (otherwise the test proves nothing).
  EXPECT_GT(MaxDiff(alone[0][0], alone[1][0]), 0.05);
  EXPECT_GT(MaxDiff(alone[1][0], alone[2][0]), 0.01);
  EXPECT_EQ(alone[0][0], alone[5][0]);  // scale 0 is the base model

  // Together: one batched prefill of all prompts, then batched decode steps.
  std::vector<std::unique_ptr<Session>> sessions;
  for (size_t i = 0; i < sets.size(); ++i) {
    sessions.push_back(engine->NewSession());
    ASSERT_TRUE(engine->SetAdapters(*sessions[i], sets[i]).ok());
  }
  for (int step = 0; step <= kSteps; ++step) {
    std::vector<Engine::BatchItem> items;
    for (size_t i = 0; i < sets.size(); ++i) {
      if (step == 0) {
        items.push_back({sessions[i].get(), prompts[i]});
      } else {
        items.push_back(
            {sessions[i].get(), std::span<const int32_t>(&next_tokens[i][step - 1], 1)});
      }
    }
    std::vector<std::vector<float>> logits;
    ASSERT_TRUE(engine->EvalBatch(items, &logits).ok());
    for (size_t i = 0; i < sets.size(); ++i) {
      EXPECT_LT(MaxDiff(logits[i], alone[i][step]), 1e-4)
          << "sequence " << i << " (" << sessions[i]->AdapterKey() << ") step " << step;
    }
  }
}

TEST(AdaptersEngineTest, OptionsAdaptersApplyToNewSessions) {
  REQUIRE_SHARED_TESTDATA();
  auto with = OpenEngine({{"", AdapterPath(), 0.5f}});
  auto without = OpenEngine();
  ASSERT_TRUE(with && without);
  ASSERT_EQ(with->ListAdapters().size(), 1u);
  EXPECT_EQ(with->ListAdapters()[0].name, "tiny-llama-lora-r8");
  EXPECT_NE(with->ListAdapters()[0].description.find("rank 8, alpha 16"), std::string::npos)
      << with->ListAdapters()[0].description;
  auto s1 = with->NewSession();
  EXPECT_EQ(s1->AdapterKey(), "tiny-llama-lora-r8@0.5");
  auto s0 = without->NewSession();
  ASSERT_TRUE(without->RegisterAdapter({"x", AdapterPath(), 1.0f}).ok());
  ASSERT_TRUE(without->SetAdapters(*s0, std::vector<AdapterChoice>{{"x", 0.5f}}).ok());
  const std::vector<int32_t> prompt = {1, 5, 9, 200, 17};
  std::vector<float> l1, l0;
  ASSERT_TRUE(with->Eval(*s1, prompt, true, &l1).ok());
  ASSERT_TRUE(without->Eval(*s0, prompt, true, &l0).ok());
  EXPECT_EQ(l1, l0);
  // An adapter every session gets cannot be unregistered: a later session would silently lack it.
  const Status refused = with->UnregisterAdapter("tiny-llama-lora-r8");
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_EQ(with->NewSession()->AdapterKey(), "tiny-llama-lora-r8@0.5");
  EXPECT_TRUE(without->UnregisterAdapter("x").ok());  // a registered, not default, one can go
}

TEST(AdaptersEngineTest, RegistrySemantics) {
  REQUIRE_SHARED_TESTDATA();
  auto engine = OpenEngine();
  ASSERT_TRUE(engine);
  ASSERT_TRUE(engine->RegisterAdapter({"t", AdapterPath(), 1.0f}).ok());
  Status dup = engine->RegisterAdapter({"t", AdapterPath(), 1.0f});
  EXPECT_FALSE(dup.ok());
  EXPECT_NE(dup.message().find("already registered"), std::string::npos);
  Status bad = engine->RegisterAdapter({"m", SharedTestdataPath("models/tiny-llama-f32.gguf")});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("not a LoRA adapter"), std::string::npos) << bad.message();

  auto s = engine->NewSession();
  std::vector<float> logits;
  const std::vector<int32_t> prompt = {1, 5, 9};
  ASSERT_TRUE(engine->Eval(*s, prompt, false, &logits).ok());
  EXPECT_EQ(s->n_tokens(), 3);
  // Unknown names are refused and leave the session as it was.
  Status nf = engine->SetAdapters(*s, std::vector<AdapterChoice>{{"nope", 1.0f}});
  EXPECT_EQ(nf.code(), StatusCode::kNotFound);
  EXPECT_NE(nf.message().find("registered: t"), std::string::npos) << nf.message();
  EXPECT_EQ(s->n_tokens(), 3);
  EXPECT_FALSE(engine->SetAdapters(*s, std::vector<AdapterChoice>{{"t", NAN}}).ok());
  // Setting the same (empty) set keeps the KV; a new set drops it.
  ASSERT_TRUE(engine->SetAdapters(*s, {}).ok());
  EXPECT_EQ(s->n_tokens(), 3);
  ASSERT_TRUE(engine->SetAdapters(*s, std::vector<AdapterChoice>{{"t", 1.0f}}).ok());
  EXPECT_EQ(s->n_tokens(), 0);
  ASSERT_TRUE(engine->Eval(*s, prompt, false, &logits).ok());
  const std::vector<float> before = logits;
  // Unregistering does not break a session that uses the adapter.
  ASSERT_TRUE(engine->UnregisterAdapter("t").ok());
  EXPECT_EQ(engine->UnregisterAdapter("t").code(), StatusCode::kNotFound);
  EXPECT_TRUE(engine->ListAdapters().empty());
  s->Truncate(0);
  ASSERT_TRUE(engine->Eval(*s, prompt, false, &logits).ok());
  EXPECT_EQ(logits, before);
}

TEST(AdaptersEngineTest, AdapterNameFromPath) {
  EXPECT_EQ(AdapterNameFromPath("/x/y/summarize.gguf"), "summarize");
  EXPECT_EQ(AdapterNameFromPath("translate"), "translate");
  EXPECT_EQ(AdapterNameFromPath("/a/peft-tone/"), "peft-tone");
  EXPECT_EQ(AdapterNameFromPath("/a/peft-tone/adapter_model.safetensors"), "peft-tone");
}

}  // namespace
}  // namespace odlm
