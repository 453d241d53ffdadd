// tests/adapters_compose_test.cc — composite tasks through the engine API (odlm/compose.h):
// two-pass equals running adapter A then adapter B by hand; merged equals generating with the
// merge built by MergeAdapters; the merge cache builds once per key and rebuilds when a source
// adapter is replaced; templates and specs are validated.
#include <gtest/gtest.h>

#include <cstdlib>

#include "odlm/compose.h"
#include "tests/support/lora_fixtures.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

using odlm::testing::SharedTestdataPath;

const char* kPrompt = "Once upon a time";

ComposeSpec TwoStages(std::vector<AdapterChoice> a, std::vector<AdapterChoice> b,
                      std::string second_template = "") {
  ComposeSpec spec;
  spec.stages = {{std::move(a), ""}, {std::move(b), std::move(second_template)}};
  return spec;
}

TEST(ComposeSpecTest, TemplatesRenderOnceAndAreValidated) {
  ComposeSpec spec = TwoStages({}, {}, "Q: {input}\nA: {output}!");
  EXPECT_TRUE(ValidateComposeSpec(spec).ok());
  EXPECT_EQ(RenderStagePrompt(spec, 0, "in", ""), "in");  // default "{input}"
  EXPECT_EQ(RenderStagePrompt(spec, 1, "in", "out"), "Q: in\nA: out!");
  // Substituted text is not scanned again.
  EXPECT_EQ(RenderStagePrompt(spec, 1, "{output}", "{input}"), "Q: {output}\nA: {input}!");
  spec.stages[1].prompt_template = "";
  EXPECT_EQ(RenderStagePrompt(spec, 1, "in", "out"), "out");  // default "{output}"
  spec.stages[0].prompt_template = "{input} {input";
  EXPECT_EQ(RenderStagePrompt(spec, 0, "x", ""), "x {input");

  // A later stage that drops {output}, a first stage that uses it, 1 or 5 stages, bad scales.
  ComposeSpec bad = TwoStages({}, {}, "Translate: {input}");
  EXPECT_NE(ValidateComposeSpec(bad).message().find("{output}"), std::string_view::npos);
  bad = TwoStages({}, {});
  bad.stages[0].prompt_template = "{output}";
  EXPECT_FALSE(ValidateComposeSpec(bad).ok());
  bad = TwoStages({}, {});
  bad.stages.resize(1);
  EXPECT_FALSE(ValidateComposeSpec(bad).ok());
  bad.stages.resize(5);
  EXPECT_FALSE(ValidateComposeSpec(bad).ok());
  bad = TwoStages({{"a", std::nanf("")}}, {});
  EXPECT_FALSE(ValidateComposeSpec(bad).ok());
  bad = TwoStages({}, {});
  bad.merge.weights = {1.0f};
  EXPECT_FALSE(ValidateComposeSpec(bad).ok());

  ComposeMode m;
  EXPECT_TRUE(ParseComposeMode("merged", &m) && m == ComposeMode::kMerged);
  EXPECT_TRUE(ParseComposeMode("two-pass", &m) && m == ComposeMode::kTwoPass);
  EXPECT_FALSE(ParseComposeMode("three-pass", &m));
}

class ComposeEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_SHARED_TESTDATA();
    EngineOptions o;
    o.model_path = SharedTestdataPath("models/tiny-llama-f32.gguf");
    o.n_threads = 2;
    o.n_ctx = 256;
    o.kv_type = DType::kF32;
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    adapter_a_ = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
    const char* tmp = std::getenv("TEST_TMPDIR");
    adapter_b_ = std::string(tmp ? tmp : "/tmp") + "/compose_b.gguf";
    ASSERT_TRUE(
        odlm::testing::WriteVariantAdapter(adapter_a_, engine_->model().LoraBase(), adapter_b_)
            .ok());
    ASSERT_TRUE(engine_->RegisterAdapter({"a", adapter_a_, 1.0f}).ok());
    ASSERT_TRUE(engine_->RegisterAdapter({"b", adapter_b_, 1.0f}).ok());
    options_.max_tokens = 12;
    options_.stop_at_end_of_generation = false;  // fixed lengths: greedy, 12 tokens per pass
  }

  // Greedy generation of `text` under `set` on a fresh session, as a user would do by hand.
  GenerateResult ByHand(const std::string& text, std::vector<AdapterChoice> set) {
    auto s = engine_->NewSession();
    EXPECT_TRUE(engine_->SetAdapters(*s, set).ok());
    const Tokenizer& tok = engine_->tokenizer();
    auto r = Generate(*engine_, *s, tok.Encode(text, tok.add_bos(), false), options_, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GenerateResult{};
  }

  std::unique_ptr<Engine> engine_;
  std::string adapter_a_, adapter_b_;
  GenerateOptions options_;
};

TEST_F(ComposeEngineTest, TwoPassEqualsAdapterAThenAdapterBByHand) {
  const ComposeSpec spec = TwoStages({{"a", 1.0f}}, {{"b", 0.8f}}, "Summary: {output}\nAgain:");
  auto session = engine_->NewSession();
  std::string streamed;
  auto r =
      RunComposite(*engine_, *session, kPrompt, spec, options_, nullptr, [&](std::string_view t) {
        streamed += t;
        return true;
      });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->stages.size(), 2u);

  const GenerateResult first = ByHand(kPrompt, {{"a", 1.0f}});
  const std::string second_prompt = "Summary: " + first.text + "\nAgain:";
  const GenerateResult second = ByHand(second_prompt, {{"b", 0.8f}});
  EXPECT_EQ(r->stages[0].result.tokens, first.tokens);
  EXPECT_EQ(r->stages[0].result.text, first.text);
  EXPECT_EQ(r->stages[1].prompt, second_prompt);
  EXPECT_EQ(r->stages[1].result.tokens, second.tokens);
  EXPECT_EQ(r->text, second.text);
  EXPECT_EQ(streamed, second.text);  // only the last pass is streamed
  EXPECT_EQ(r->completion_tokens(), 24);
  EXPECT_EQ(r->prompt_tokens(), first.prompt_tokens + second.prompt_tokens);
  EXPECT_GT(r->stages[0].result.prefill_ms, 0.0);
  EXPECT_GT(r->stages[1].result.decode_ms, 0.0);
  EXPECT_GE(r->total_ms, r->stages[0].result.prefill_ms + r->stages[1].result.decode_ms);

  // The passes really ran under their own adapters: not the base model, and stage 2 is not b
  // on the original prompt.
  EXPECT_NE(first.tokens, ByHand(kPrompt, {}).tokens);
  EXPECT_NE(second.tokens, ByHand(second_prompt, {{"a", 1.0f}}).tokens);
  EXPECT_NE(r->text, ByHand(kPrompt, {{"b", 0.8f}}).text);
  // The session ends under the last stage's set.
  EXPECT_EQ(session->AdapterKey(), "b@0.800000012");
}

TEST_F(ComposeEngineTest, MergedEqualsTheMergeBuiltByHandAndIsCached) {
  ComposeSpec spec = TwoStages({{"a", 0.5f}}, {{"b", 1.0f}}, "unused in merged mode: {output}");
  spec.mode = ComposeMode::kMerged;
  MergedAdapterCache cache;
  auto session = engine_->NewSession();
  auto r = RunComposite(*engine_, *session, kPrompt, spec, options_, &cache, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->stages.size(), 1u);
  EXPECT_GT(r->merge_ms, 0.0);
  EXPECT_EQ(cache.builds(), 1);

  // By hand: MergeAdapters with the scales as weights (linear, rank = largest input rank).
  const LoraAdapter* in[] = {engine_->FindAdapter("a").get(), engine_->FindAdapter("b").get()};
  MergeOptions mo;
  mo.weights = {0.5f, 1.0f};
  auto merged = MergeAdapters(in, mo, engine_->model().LoraBase());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ASSERT_TRUE(engine_->RegisterAdapter("by_hand", std::move(merged).value()).ok());
  const GenerateResult hand = ByHand(kPrompt, {{"by_hand", 1.0f}});
  EXPECT_EQ(r->stages[0].result.tokens, hand.tokens);
  EXPECT_EQ(r->text, hand.text);
  EXPECT_EQ(r->stages[0].prompt, kPrompt);  // one pass, on the first stage's prompt
  // Merging changed something: neither adapter alone, nor the base model.
  EXPECT_NE(hand.tokens, ByHand(kPrompt, {}).tokens);
  EXPECT_NE(hand.tokens, ByHand(kPrompt, {{"b", 1.0f}}).tokens);

  // Same key: from the cache. The merge is registered like any adapter.
  auto again = RunComposite(*engine_, *session, kPrompt, spec, options_, &cache, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->stages[0].result.tokens, hand.tokens);
  EXPECT_EQ(again->merge_ms, 0.0);
  EXPECT_EQ(cache.builds(), 1);
  EXPECT_NE(engine_->FindAdapter("compose:" + MergedAdapterCache::Key(spec)), nullptr);
  // Other scales: another key, another merge.
  ComposeSpec other = spec;
  other.stages[0].adapters[0].scale = 1.0f;
  ASSERT_TRUE(RunComposite(*engine_, *session, kPrompt, other, options_, &cache, nullptr).ok());
  EXPECT_EQ(cache.builds(), 2);
  EXPECT_EQ(cache.size(), 2u);

  // "b" replaced by another adapter under the same name: the cached merge is stale and rebuilt.
  ASSERT_TRUE(engine_->UnregisterAdapter("b").ok());
  ASSERT_TRUE(engine_->RegisterAdapter({"b", adapter_a_, 1.0f}).ok());
  auto rebuilt = RunComposite(*engine_, *session, kPrompt, spec, options_, &cache, nullptr);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(cache.builds(), 3);
  EXPECT_NE(rebuilt->stages[0].result.tokens, hand.tokens);
}

TEST_F(ComposeEngineTest, CacheKeepsAtMostItsCapacityAndErrorsNameTheProblem) {
  MergedAdapterCache cache(/*capacity=*/1);
  ComposeSpec spec = TwoStages({{"a", 1.0f}}, {{"b", 1.0f}});
  spec.mode = ComposeMode::kMerged;
  ASSERT_TRUE(cache.Get(*engine_, spec).ok());
  const std::string first = "compose:" + MergedAdapterCache::Key(spec);
  spec.stages[1].adapters[0].scale = 0.25f;
  ASSERT_TRUE(cache.Get(*engine_, spec).ok());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(engine_->FindAdapter(first), nullptr);  // the least recently used was unregistered

  // A merge whose name a request still holds (a live Merged) is not evicted: the cache goes over
  // capacity until the holder lets go, then shrinks on the next build.
  {
    auto held = cache.Get(*engine_, spec);  // the scale-0.25 merge, now pinned
    ASSERT_TRUE(held.ok());
    spec.stages[1].adapters[0].scale = 0.75f;
    auto other = cache.Get(*engine_, spec);
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_NE(engine_->FindAdapter(held->name), nullptr);
    const std::string held_name = held->name;
    held = MergedAdapterCache::Merged{};  // released; `other` is still held
    spec.stages[1].adapters[0].scale = 0.5f;
    ASSERT_TRUE(cache.Get(*engine_, spec).ok());
    EXPECT_EQ(cache.size(), 2u);  // the new one and the still-held `other`
    EXPECT_EQ(engine_->FindAdapter(held_name), nullptr);
    EXPECT_NE(engine_->FindAdapter(other->name), nullptr);
  }

  // No adapter in any stage: the base model, nothing built.
  auto none = cache.Get(*engine_, TwoStages({}, {}));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->name, "");

  auto session = engine_->NewSession();
  auto unknown = RunComposite(*engine_, *session, kPrompt, TwoStages({{"a", 1.0f}}, {{"zz", 1.0f}}),
                              options_, nullptr, nullptr);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("zz"), std::string_view::npos);
  EXPECT_NE(unknown.status().message().find("stage 2"), std::string_view::npos);
  auto bad = RunComposite(*engine_, *session, kPrompt, TwoStages({}, {}, "no placeholder"),
                          options_, nullptr, nullptr);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace odlm
