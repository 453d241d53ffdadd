// tests/engine_generate_test.cc — the generation loop on a model the test generates itself:
// determinism, batched generation equal to one-by-one, prefix reuse, stop strings, UTF-8 safety.
#include <gtest/gtest.h>

#include <string>

#include "odlm/engine.h"
#include "odlm/generate.h"
#include "odlm/perplexity.h"
#include "tests/support/generated_model.h"

namespace odlm {
namespace {

class EngineGenerateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = new std::string(std::string(::testing::TempDir()) + "/engine_generate_test.gguf");
    const Status st = testing::WriteSmallGeneratedModel(*path_, /*seed=*/11);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void SetUp() override {
    EngineOptions eo;
    eo.model_path = *path_;
    eo.n_threads = 2;
    auto e = Engine::Open(eo);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  std::vector<int32_t> Prompt(const std::string& text) {
    return engine_->tokenizer().Encode(text, engine_->tokenizer().add_bos(), false);
  }
  static std::string* path_;
  std::unique_ptr<Engine> engine_;
};
std::string* EngineGenerateTest::path_ = nullptr;

TEST_F(EngineGenerateTest, SameSeedSameTextAndDifferentSeedDiffers) {
  GenerateOptions g;
  g.max_tokens = 24;
  g.stop_at_end_of_generation = false;
  g.sampling.temperature = 1.0f;
  g.sampling.seed = 99;
  auto run = [&](uint64_t seed) {
    g.sampling.seed = seed;
    auto s = engine_->NewSession();
    auto r = Generate(*engine_, *s, Prompt("Once upon a time"), g, nullptr);
    EXPECT_TRUE(r.ok());
    return r->tokens;
  };
  EXPECT_EQ(run(99), run(99));
  EXPECT_NE(run(99), run(100));
}

// EngineOptions::mmap = false (the CLI's --no-mmap) reads the weights into memory: the logits are
// the mapped model's bit for bit.
TEST_F(EngineGenerateTest, CopiedWeightsGiveTheMappedModelsLogits) {
  EngineOptions eo = engine_->options();
  eo.mmap = false;
  auto copied = Engine::Open(eo);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_FALSE((*copied)->options().mmap);
  const std::vector<int32_t> prompt = Prompt("The weights are read into memory");
  std::vector<float> mapped_logits, copied_logits;
  auto s1 = engine_->NewSession();
  auto s2 = (*copied)->NewSession();
  ASSERT_TRUE(engine_->Eval(*s1, prompt, /*all_logits=*/true, &mapped_logits).ok());
  ASSERT_TRUE((*copied)->Eval(*s2, prompt, /*all_logits=*/true, &copied_logits).ok());
  ASSERT_FALSE(mapped_logits.empty());
  EXPECT_EQ(mapped_logits, copied_logits);
}

TEST_F(EngineGenerateTest, BatchedGenerationEqualsOneByOne) {
  GenerateOptions g;
  g.max_tokens = 12;
  g.stop_at_end_of_generation = false;
  std::vector<std::vector<int32_t>> prompts = {Prompt("The cat"),
                                               Prompt("A long time ago, far away"), Prompt("x")};
  auto batch = GenerateBatch(*engine_, prompts, g);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto s = engine_->NewSession();
    auto alone = Generate(*engine_, *s, prompts[i], g, nullptr);
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ((*batch)[i].tokens, alone->tokens) << "prompt " << i;
    EXPECT_EQ((*batch)[i].text, alone->text) << "prompt " << i;
  }
}

TEST_F(EngineGenerateTest, FollowUpReusesThePrefixAndMatchesAFreshSession) {
  GenerateOptions g;
  g.max_tokens = 8;
  g.stop_at_end_of_generation = false;
  auto session = engine_->NewSession();
  std::vector<int32_t> first = Prompt("Hello there, how are you");
  auto r1 = Generate(*engine_, *session, first, g, nullptr);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->reused_tokens, 0);
  // The follow-up turn repeats the whole exchange and adds more.
  std::vector<int32_t> second = first;
  second.insert(second.end(), r1->tokens.begin(), r1->tokens.end());
  for (int32_t t : Prompt(" and then")) second.push_back(t);
  auto r2 = Generate(*engine_, *session, second, g, nullptr);
  ASSERT_TRUE(r2.ok());
  // Everything but the last generated token (never evaluated) is reused.
  EXPECT_EQ(r2->reused_tokens, static_cast<int64_t>(first.size() + r1->tokens.size() - 1));
  auto fresh = engine_->NewSession();
  auto r3 = Generate(*engine_, *fresh, second, g, nullptr);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r2->tokens, r3->tokens);
}

TEST_F(EngineGenerateTest, TextStreamHoldsBackStopStringsAndSplitCharacters) {
  const Tokenizer& tok = engine_->tokenizer();
  auto one = [&](const std::string& s) {
    std::vector<int32_t> ids = tok.Encode(s, false, false);
    EXPECT_EQ(ids.size(), 1u) << s;
    return ids[0];
  };
  TextStream stream(tok, tok.bos_id(), {"bc"});
  bool stopped = false;
  EXPECT_EQ(stream.Push(one("a"), &stopped), "a");
  EXPECT_EQ(stream.Push(one("b"), &stopped), "");  // could begin "bc"
  EXPECT_FALSE(stopped);
  EXPECT_EQ(stream.Push(one("c"), &stopped), "");
  EXPECT_TRUE(stopped);
  // A two-byte character split over two byte tokens is emitted whole.
  std::vector<int32_t> e = tok.Encode("\xC3\xA9", false, false);
  ASSERT_EQ(e.size(), 2u);
  TextStream utf8(tok, tok.bos_id(), {});
  EXPECT_EQ(utf8.Push(e[0], &stopped), "");
  EXPECT_EQ(utf8.Push(e[1], &stopped), "\xC3\xA9");
}

TEST_F(EngineGenerateTest, TextStreamTrimsTheReplysLeadingSpaceOnlyWhenAsked) {
  const Tokenizer& tok = engine_->tokenizer();
  std::vector<int32_t> ids = tok.Encode("  a b", false, false);
  ASSERT_GE(ids.size(), 2u);
  auto all = [&](bool trim) {
    TextStream stream(tok, tok.bos_id(), {}, trim);
    std::string out;
    bool stopped = false;
    for (int32_t id : ids) out += stream.Push(id, &stopped);
    return out + stream.Flush();
  };
  EXPECT_EQ(all(false), "  a b");
  EXPECT_EQ(all(true), "a b");  // inner spaces stay
  // Only whitespace so far: nothing is emitted, and nothing is left to flush.
  TextStream blank(tok, tok.bos_id(), {}, true);
  bool stopped = false;
  for (int32_t id : tok.Encode("   ", false, false)) EXPECT_EQ(blank.Push(id, &stopped), "");
  EXPECT_EQ(blank.Flush(), "");
}

TEST_F(EngineGenerateTest, ErrorsAreStatusesNotCrashes) {
  auto s = engine_->NewSession();
  GenerateOptions g;
  EXPECT_EQ(Generate(*engine_, *s, {}, g, nullptr).status().code(), StatusCode::kInvalidArgument);
  std::vector<int32_t> huge(600, 5);
  EXPECT_EQ(Generate(*engine_, *s, huge, g, nullptr).status().code(), StatusCode::kOutOfRange);
  EngineOptions bad;
  bad.model_path = "/nonexistent/model.gguf";
  auto e = Engine::Open(bad);
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

TEST_F(EngineGenerateTest, PerplexityFollowsTheChunkConvention) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < 70; ++i) tokens.push_back((i * 13 + 7) % 400);
  auto r = ComputePerplexity(*engine_, tokens, 32);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->n_chunks, 2);
  EXPECT_EQ(r->n_scored, 2 * (32 - 1 - 16));
  EXPECT_GT(r->ppl, 1.0);
  // A random model is roughly uniform over the vocabulary: perplexity near 400, far from 1.
  EXPECT_LT(r->ppl, 4000.0);
  EXPECT_NEAR(std::log(r->ppl), r->mean_nll, 1e-9);
  EXPECT_FALSE(ComputePerplexity(*engine_, tokens, 100).ok());  // not one whole chunk
}

}  // namespace
}  // namespace odlm
