// tests/engine_speculative_test.cc — speculative decoding (odlm/speculative.h) on generated
// models: one- and many-token passes give the same logits; greedy output token for token equal to
// plain decoding across prompt lengths, draft lengths, prefill piece sizes, drafters (prompt
// lookup, a draft model, both), stop rules, every KV policy of the context memory and LoRA
// adapters, with the session (tokens and KV) left as plain decoding leaves it; prompt lookup
// itself; the draft model's vocabulary check; seeded sampling.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "adapters/lora_random.h"
#include "kernels/matmul.h"
#include "model_gen/model_generator.h"
#include "odlm/context_memory.h"
#include "odlm/engine.h"
#include "odlm/generate.h"
#include "odlm/speculative.h"
#include "tests/support/generated_model.h"

namespace odlm {
namespace {

// Verification evaluates a draft in one pass of k + 1 tokens, where plain decoding evaluates one
// token per pass; greedy identity needs the two to give the same logits. They do bit for bit with
// the scalar reference and AVX2 kernels for every block type, and with F16/F32 weights on every
// variant. The AVX-512 VNNI kernels give quantized types a single-token gemv of their own
// (kernels/x86/gemv_avx512.inc) whose sums round differently: there the logits agree to rounding
// only, and a greedy choice can flip where two logits nearly tie (docs/PERFORMANCE.md).
TEST(SpeculativeArithmeticTest, ManyTokenPassesGiveOneTokenPassesLogits) {
  const std::pair<const char*, DType> types[] = {{"f16", DType::kF16},
                                                 {"q8_0", DType::kQ8_0},
                                                 {"q4_0", DType::kQ4_0},
                                                 {"q4_K", DType::kQ4_K},
                                                 {"q6_K", DType::kQ6_K}};
  for (const auto& [type, dtype] : types) {
    SCOPED_TRACE(type);
    const std::string path = std::string(::testing::TempDir()) + "/speculative_" + type + ".gguf";
    ASSERT_TRUE(testing::WriteSmallGeneratedModel(path, 3, type).ok());
    EngineOptions eo;
    eo.model_path = path;
    eo.n_threads = 2;
    auto engine = Engine::Open(eo);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    Engine& e = **engine;
    std::vector<int32_t> tokens;
    for (int i = 0; i < 36; ++i) tokens.push_back(1 + (i * 37) % 390);
    const std::span<const int32_t> prefix(tokens.data(), 20);
    for (int k : {2, 5, 9, 16}) {
      auto one = e.NewSession(), many = e.NewSession();
      std::vector<float> one_logits, many_logits, row;
      ASSERT_TRUE(e.Eval(*one, prefix, false, &row).ok());
      ASSERT_TRUE(e.Eval(*many, prefix, false, &row).ok());
      for (int i = 20; i < 20 + k; ++i) {
        ASSERT_TRUE(e.Eval(*one, std::span<const int32_t>(&tokens[i], 1), false, &row).ok());
        one_logits.insert(one_logits.end(), row.begin(), row.end());
      }
      ASSERT_TRUE(e.Eval(*many, std::span<const int32_t>(&tokens[20], k), true, &many_logits).ok());
      ASSERT_EQ(one_logits.size(), many_logits.size());
      float max_diff = 0;
      for (size_t i = 0; i < one_logits.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(one_logits[i] - many_logits[i]));
      }
      if (dtype != DType::kF16 && kernels::MatMulVariant(dtype) == "avx512vnni") {
        EXPECT_LE(max_diff, 0.05f) << "k " << k;
      } else {
        EXPECT_EQ(max_diff, 0.0f) << "k " << k;
      }
    }
  }
}

TEST(PromptLookupTest, DraftsWhatFollowedTheLatestLongestMatch) {
  // ... 7 8 9 [1 2 3] 4 5 ... [1 2 3] 6 ... 1 2 3 → the latest earlier "1 2 3" is followed by 6.
  const std::vector<int32_t> c = {7, 8, 9, 1, 2, 3, 4, 5, 1, 2, 3, 6, 0, 1, 2, 3};
  EXPECT_EQ(PromptLookupDraft(c, 3, 1, 4), (std::vector<int32_t>{6, 0, 1, 2}));
  EXPECT_EQ(PromptLookupDraft(c, 3, 1, 1), (std::vector<int32_t>{6}));
  // Only as many tokens as follow the match.
  const std::vector<int32_t> d = {5, 6, 5};
  EXPECT_EQ(PromptLookupDraft(d, 2, 1, 8), (std::vector<int32_t>{6, 5}));
  // The longest n-gram wins over a later shorter one: "8 9" occurs once, followed by 1.
  const std::vector<int32_t> e = {8, 9, 1, 9, 2, 8, 9};
  EXPECT_EQ(PromptLookupDraft(e, 2, 1, 1), (std::vector<int32_t>{1}));
  // Below ngram_min nothing matches; k = 0 drafts nothing.
  EXPECT_TRUE(PromptLookupDraft(std::vector<int32_t>{4, 1, 2, 3, 9, 3}, 3, 2, 4).empty());
  EXPECT_EQ(PromptLookupDraft(std::vector<int32_t>{4, 1, 2, 3, 9, 3}, 3, 1, 4),
            (std::vector<int32_t>{9, 3}));
  EXPECT_TRUE(PromptLookupDraft(c, 3, 1, 0).empty());
  EXPECT_TRUE(PromptLookupDraft(std::vector<int32_t>{1}, 3, 1, 4).empty());
}

class SpeculativeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = ::testing::TempDir();
    target_path_ = new std::string(dir + "/speculative_target.gguf");
    draft_path_ = new std::string(dir + "/speculative_draft.gguf");
    // F16 weights: their products run the same arithmetic for one token and for many on every
    // kernel variant (ManyTokenPassesGiveOneTokenPassesLogits), so greedy identity is exact.
    ASSERT_TRUE(testing::WriteSmallGeneratedModel(*target_path_, /*seed=*/21, "f16").ok());
    ASSERT_TRUE(testing::WriteSmallGeneratedModel(*draft_path_, /*seed=*/22, "f16").ok());
  }
  static std::unique_ptr<Engine> Open(const std::string& path, int32_t max_batch = 512,
                                      int64_t n_ctx = 0) {
    EngineOptions eo;
    eo.model_path = path;
    eo.n_threads = 2;
    eo.max_batch_tokens = max_batch;
    eo.n_ctx = n_ctx;
    auto e = Engine::Open(eo);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }
  // Token ids that repeat (so prompt lookup finds matches) with variation in between.
  static std::vector<int32_t> Prompt(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> phrase(7);
    for (auto& t : phrase) t = 1 + static_cast<int32_t>(rng() % 390);
    std::vector<int32_t> p;
    while (static_cast<int>(p.size()) < n) {
      if (rng() % 3 == 0) {
        p.push_back(1 + static_cast<int32_t>(rng() % 390));
      } else {
        p.insert(p.end(), phrase.begin(), phrase.end());
      }
    }
    p.resize(n);
    return p;
  }

  struct Run {
    std::vector<int32_t> tokens;
    std::string text;
    FinishReason finish = FinishReason::kLength;
    std::vector<int32_t> session_tokens;
    std::vector<float> next_logits;  // the session's logits after evaluating the last token
    SpeculativeStats stats;
  };
  static Run Generated(Engine& engine, Session& session, const std::vector<int32_t>& prompt,
                       const GenerateOptions& g) {
    Run run;
    auto r = Generate(engine, session, prompt, g, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return run;
    run.tokens = r->tokens;
    run.text = r->text;
    run.finish = r->finish;
    run.stats = r->speculative;
    run.session_tokens = session.tokens();
    if (!r->tokens.empty() && session.n_tokens() + 1 < engine.n_ctx()) {
      const int32_t last[1] = {r->tokens.back()};
      EXPECT_TRUE(engine.Eval(session, last, false, &run.next_logits).ok());
    }
    return run;
  }
  static Run Generated(Engine& engine, const std::vector<int32_t>& prompt,
                       const GenerateOptions& g) {
    auto s = engine.NewSession();
    return Generated(engine, *s, prompt, g);
  }
  // Speculative greedy output equals plain: tokens, text, finish, the session's tokens, and the
  // KV it holds (the logits of evaluating the last token on top of it).
  static void ExpectSameAsPlain(const Run& plain, const Run& spec, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(spec.tokens, plain.tokens);
    EXPECT_EQ(spec.text, plain.text);
    EXPECT_EQ(spec.finish, plain.finish);
    EXPECT_EQ(spec.session_tokens, plain.session_tokens);
    // The KV of accepted drafts was computed in multi-token passes, plain decoding's one token
    // at a time: with F16 weights the arithmetic is the same, so the KV is bit for bit the same.
    EXPECT_EQ(spec.next_logits, plain.next_logits);
  }

  static GenerateOptions Greedy(int32_t max_tokens) {
    GenerateOptions g;
    g.max_tokens = max_tokens;
    g.stop_at_end_of_generation = false;
    return g;
  }

  static std::string* target_path_;
  static std::string* draft_path_;
};
std::string* SpeculativeTest::target_path_ = nullptr;
std::string* SpeculativeTest::draft_path_ = nullptr;

TEST_F(SpeculativeTest, GreedyLookupEqualsPlainAcrossPromptsDraftsAndPieceSizes) {
  for (int32_t max_batch : {512, 3}) {
    auto engine = Open(*target_path_, max_batch);
    ASSERT_NE(engine, nullptr);
    for (int n_prompt : {1, 9, 60, 220}) {
      const std::vector<int32_t> prompt = Prompt(n_prompt, 100 + n_prompt);
      const Run plain = Generated(*engine, prompt, Greedy(40));
      ASSERT_EQ(plain.tokens.size(), 40u);
      for (int32_t draft_max : {1, 4, 8, 16}) {
        for (int32_t ngram : {1, 3}) {
          GenerateOptions g = Greedy(40);
          g.speculative.draft_max = draft_max;
          g.speculative.adaptive = false;  // draft whenever possible
          g.speculative.lookup_ngram = ngram;
          g.speculative.lookup_ngram_min = 1;
          const Run spec = Generated(*engine, prompt, g);
          ExpectSameAsPlain(plain, spec,
                            "batch " + std::to_string(max_batch) + " prompt " +
                                std::to_string(n_prompt) + " draft " + std::to_string(draft_max) +
                                " ngram " + std::to_string(ngram));
          EXPECT_EQ(spec.stats.pass_tokens, 39);
          EXPECT_LE(spec.stats.accepted, spec.stats.drafted);
          // Every pass yields its accepted drafts and one token of the model's own.
          EXPECT_EQ(spec.stats.passes + spec.stats.accepted, 39);
          if (n_prompt >= 60) {
            EXPECT_GT(spec.stats.drafted, 0);
          }
        }
      }
    }
  }
}

TEST_F(SpeculativeTest, GreedyDraftModelEqualsPlain) {
  auto engine = Open(*target_path_);
  auto other = Open(*draft_path_);    // a different model: most drafts rejected
  auto itself = Open(*target_path_);  // the same weights: drafts accepted
  ASSERT_TRUE(engine && other && itself);
  for (int n_prompt : {5, 120}) {
    const std::vector<int32_t> prompt = Prompt(n_prompt, 7 + n_prompt);
    const Run plain = Generated(*engine, prompt, Greedy(48));
    for (Engine* draft : {other.get(), itself.get()}) {
      for (int32_t draft_max : {2, 6}) {
        for (bool lookup : {false, true}) {
          GenerateOptions g = Greedy(48);
          g.speculative.draft_max = draft_max;
          g.speculative.adaptive = false;  // draft whenever possible
          g.speculative.draft_engine = draft;
          g.speculative.draft_p_min = 0.0f;  // draft every position
          g.speculative.lookup_ngram = lookup ? 2 : 0;
          const Run spec = Generated(*engine, prompt, g);
          ExpectSameAsPlain(plain, spec,
                            std::string(draft == itself.get() ? "itself" : "other") + " prompt " +
                                std::to_string(n_prompt) + " draft " + std::to_string(draft_max) +
                                (lookup ? " +lookup" : ""));
          EXPECT_GT(spec.stats.model_drafts, 0);
          EXPECT_EQ(spec.stats.passes + spec.stats.accepted, 47);
          if (draft == itself.get() && !lookup) {
            // Its own drafts: rejected only where the rounding of the two paths flips a near tie.
            EXPECT_GE(spec.stats.acceptance_rate(), 0.9);
            EXPECT_GT(spec.stats.tokens_per_pass(), 1.5);
          }
        }
      }
    }
  }
}

// Adaptive drafting (SpeculativeTuning) only changes how many tokens are drafted, never the
// output; a tuning kept across calls learns the drafters' acceptance.
TEST_F(SpeculativeTest, AdaptiveDraftLengthsKeepTheOutputAndLearnAcceptance) {
  auto engine = Open(*target_path_);
  auto other = Open(*draft_path_);
  ASSERT_TRUE(engine && other);
  SpeculativeTuning tuning;
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<int32_t> prompt = Prompt(120, seed);
    const Run plain = Generated(*engine, prompt, Greedy(40));
    GenerateOptions g = Greedy(40);
    g.speculative.draft_max = 8;
    g.speculative.lookup_ngram = 3;
    g.speculative.lookup_ngram_min = 1;
    g.speculative.draft_engine = other.get();
    g.speculative.tuning = &tuning;
    ExpectSameAsPlain(plain, Generated(*engine, prompt, g), "seed " + std::to_string(seed));
  }
  EXPECT_GT(tuning.one_token_ns, 0.0);
  // Something was learned: some lookup estimate moved off its prior.
  bool moved = false;
  for (double a : tuning.lookup_acceptance) moved = moved || a != 0.5;
  EXPECT_TRUE(moved);
}

TEST_F(SpeculativeTest, StopRulesAndTheContextLimitEndWhereThePlainRunEnds) {
  auto engine = Open(*target_path_, 512, /*n_ctx=*/96);
  auto itself = Open(*target_path_);
  ASSERT_TRUE(engine && itself);
  const std::vector<int32_t> prompt = Prompt(70, 3);
  GenerateOptions g = Greedy(200);  // past the context: ends with kContextFull
  const Run plain = Generated(*engine, prompt, g);
  EXPECT_EQ(plain.finish, FinishReason::kContextFull);
  g.speculative.draft_max = 8;
  g.speculative.adaptive = false;  // draft whenever possible
  g.speculative.lookup_ngram = 2;
  g.speculative.draft_engine = itself.get();
  g.speculative.draft_p_min = 0.0f;
  const Run spec = Generated(*engine, prompt, g);
  EXPECT_EQ(spec.tokens, plain.tokens);
  EXPECT_EQ(spec.finish, FinishReason::kContextFull);
  EXPECT_EQ(spec.session_tokens, plain.session_tokens);
  // A stop string taken from the middle of the plain text.
  ASSERT_GT(plain.text.size(), 12u);
  GenerateOptions s = Greedy(200);
  s.stop = {plain.text.substr(plain.text.size() / 2, 3)};
  const Run plain_stop = Generated(*engine, prompt, s);
  ASSERT_EQ(plain_stop.finish, FinishReason::kStop);
  s.speculative = g.speculative;
  const Run spec_stop = Generated(*engine, prompt, s);
  EXPECT_EQ(spec_stop.tokens, plain_stop.tokens);
  EXPECT_EQ(spec_stop.text, plain_stop.text);
  EXPECT_EQ(spec_stop.finish, FinishReason::kStop);
  EXPECT_EQ(spec_stop.session_tokens, plain_stop.session_tokens);
  // max_tokens = 1 and 0.
  for (int32_t n : {0, 1, 2}) {
    GenerateOptions m = Greedy(n);
    const Run a = Generated(*engine, prompt, m);
    m.speculative = g.speculative;
    const Run b = Generated(*engine, prompt, m);
    EXPECT_EQ(a.tokens, b.tokens) << n;
    EXPECT_EQ(a.session_tokens, b.session_tokens) << n;
  }
}

TEST_F(SpeculativeTest, EveryKvPolicyOverTwoTurnsEqualsPlain) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "speculative_kv_policies";
  for (KvPolicy policy :
       {KvPolicy::kLlms, KvPolicy::kRecompute, KvPolicy::kSwap, KvPolicy::kResident}) {
    std::vector<std::vector<int32_t>> outputs[2];
    for (int speculative = 0; speculative < 2; ++speculative) {
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      auto engine = Open(*target_path_);
      auto draft = Open(*draft_path_);
      ASSERT_TRUE(engine && draft);
      ContextMemoryOptions o;
      o.policy = policy;
      o.budget_bytes = 20 << 10;  // small: each context evicts (some of) the other
      o.swap_dir = dir.string();
      o.measure_costs = false;
      o.keep_warm = false;
      auto memory = ContextMemory::Open(engine.get(), o);
      ASSERT_TRUE(memory.ok()) << memory.status().ToString();
      GenerateOptions g = Greedy(32);
      if (speculative) {
        g.speculative.draft_max = 5;
        g.speculative.adaptive = false;  // draft whenever possible
        g.speculative.lookup_ngram = 2;
        g.speculative.draft_engine = draft.get();
      }
      std::vector<int32_t> history[2] = {Prompt(90, 41), Prompt(70, 42)};
      for (int turn = 0; turn < 2; ++turn) {
        for (int c = 0; c < 2; ++c) {
          const std::string key = "app/ctx" + std::to_string(c);
          auto session = (*memory)->Acquire(key);
          ASSERT_TRUE(session.ok()) << session.status().ToString();
          auto r = Generate(*engine, **session, history[c], g, nullptr);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          outputs[speculative].push_back(r->tokens);
          ASSERT_EQ((*session)->n_tokens(),
                    static_cast<int64_t>(history[c].size() + r->tokens.size() - 1));
          ASSERT_TRUE((*memory)->Release(key).ok());
          history[c].insert(history[c].end(), r->tokens.begin(), r->tokens.end());
          const std::vector<int32_t> next = Prompt(6, 50 + turn * 2 + c);
          history[c].insert(history[c].end(), next.begin(), next.end());
        }
      }
    }
    EXPECT_EQ(outputs[1], outputs[0]) << KvPolicyName(policy);
  }
  std::filesystem::remove_all(dir);
}

// The context memory's tolerance statistics (the attention each position received, which decides
// how precisely a chunk is kept) come out as plain decoding makes them: rejected drafts' queries
// leave nothing behind (Engine::EvalDraft, Session::AcceptDraft).
TEST_F(SpeculativeTest, AttentionStatisticsAreThoseOfPlainDecoding) {
  std::vector<float> received[2];
  for (int speculative = 0; speculative < 2; ++speculative) {
    auto engine = Open(*target_path_, /*max_batch=*/4);
    auto draft = Open(*draft_path_);
    ASSERT_TRUE(engine && draft);
    ContextMemoryOptions o;
    o.measure_costs = false;
    auto memory = ContextMemory::Open(engine.get(), o);
    ASSERT_TRUE(memory.ok()) << memory.status().ToString();
    auto session = (*memory)->Acquire("app/ctx");
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE((*session)->kv().track_attention());
    GenerateOptions g = Greedy(40);
    if (speculative) {
      g.speculative.draft_max = 6;
      g.speculative.adaptive = false;  // draft whenever possible
      g.speculative.lookup_ngram = 2;
      g.speculative.draft_engine = draft.get();
      g.speculative.draft_p_min = 0.0f;
    }
    auto r = Generate(*engine, **session, Prompt(100, 8), g, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (speculative) {
      EXPECT_GT(r->speculative.drafted, r->speculative.accepted);  // some drafts were rejected
      EXPECT_GT(r->speculative.accepted, 0);
    }
    const auto& recv = (*session)->kv().attention_received();
    received[speculative].assign(recv.begin(), recv.begin() + (*session)->n_tokens());
    ASSERT_TRUE((*memory)->Release("app/ctx").ok());
  }
  ASSERT_EQ(received[0].size(), received[1].size());
  // Equal up to the order of float additions (per-thread partial sums).
  for (size_t j = 0; j < received[0].size(); ++j) {
    EXPECT_NEAR(received[1][j], received[0][j], 1e-4f * (1.0f + received[0][j])) << j;
  }
}

TEST_F(SpeculativeTest, WithALoraAdapterEqualsPlain) {
  auto engine = Open(*target_path_);
  auto draft = Open(*draft_path_);
  ASSERT_TRUE(engine && draft);
  auto adapter = RandomLoraAdapter(engine->model().LoraBase(), 4, 9, 0.5f);
  ASSERT_TRUE(adapter.ok()) << adapter.status().ToString();
  ASSERT_TRUE(
      engine->RegisterAdapter("tone", std::shared_ptr<const LoraAdapter>(std::move(*adapter)))
          .ok());
  const std::vector<int32_t> prompt = Prompt(80, 77);
  const AdapterChoice tone[1] = {{"tone", 1.0f}};
  auto run = [&](bool speculative, bool adapter) {
    auto s = engine->NewSession();
    if (adapter) {
      EXPECT_TRUE(engine->SetAdapters(*s, tone).ok());
    }
    GenerateOptions g = Greedy(40);
    if (speculative) {
      g.speculative.draft_max = 4;
      g.speculative.adaptive = false;  // draft whenever possible
      g.speculative.lookup_ngram = 2;
      g.speculative.draft_engine = draft.get();
      g.speculative.draft_p_min = 0.0f;
    }
    return Generated(*engine, *s, prompt, g);
  };
  const Run plain = run(false, true);
  ExpectSameAsPlain(plain, run(true, true), "adapter");
  // The adapter changes the output (otherwise the test would not show it is applied).
  EXPECT_NE(run(false, false).tokens, plain.tokens);
}

TEST_F(SpeculativeTest, SeededSamplingIsReproducibleAndOwnDraftsAreAccepted) {
  auto engine = Open(*target_path_);
  auto itself = Open(*target_path_);
  ASSERT_TRUE(engine && itself);
  GenerateOptions g;
  g.max_tokens = 40;
  g.stop_at_end_of_generation = false;
  g.sampling.temperature = 0.9f;
  g.sampling.seed = 1234;
  g.speculative.draft_max = 4;
  g.speculative.adaptive = false;  // draft whenever possible
  g.speculative.draft_engine = itself.get();
  g.speculative.draft_p_min = 0.0f;
  const std::vector<int32_t> prompt = Prompt(30, 5);
  const Run a = Generated(*engine, prompt, g);
  const Run b = Generated(*engine, prompt, g);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.tokens.size(), 40u);
  // The draft samples from the same distribution the model verifies with (p = q up to the
  // rounding of the two paths): min(1, p/q) accepts (nearly) everything.
  EXPECT_GT(a.stats.drafted, 0);
  EXPECT_GE(a.stats.acceptance_rate(), 0.9);
  g.sampling.seed = 1235;
  EXPECT_NE(Generated(*engine, prompt, g).tokens, a.tokens);
}

TEST_F(SpeculativeTest, ADraftModelWithAnotherVocabularyIsRefusedNamingBothSizes) {
  const std::string path = std::string(::testing::TempDir()) + "/speculative_vocab.gguf";
  ModelGenOptions o;
  o.n_embd = 64;
  o.n_layer = 1;
  o.n_head = 2;
  o.n_ff = 128;
  o.n_vocab = 300;
  o.n_ctx = 256;
  o.type = "f32";
  ASSERT_TRUE(GenerateModel(o, path, 1).ok());
  auto engine = Open(*target_path_);
  auto bad = Open(path);
  ASSERT_TRUE(engine && bad);
  const Status st = CheckDraftModel(*engine, *bad);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("300"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("400"), std::string::npos) << st.message();
  GenerateOptions g = Greedy(4);
  g.speculative.draft_max = 2;
  g.speculative.adaptive = false;  // draft whenever possible
  g.speculative.draft_engine = bad.get();
  auto s = engine->NewSession();
  auto r = Generate(*engine, *s, Prompt(5, 1), g, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace odlm
