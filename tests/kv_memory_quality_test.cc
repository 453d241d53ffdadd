// tests/kv_memory_quality_test.cc — the context memory's KV compression on real weights and real
// text: stories260K (TinyStories) with histories from tests/data/short_stories.txt, the llms
// policy at its default settings under a quarter budget, against resident. Fails when the
// next-token KL or the prompts' perplexity move past the figures docs/PERFORMANCE.md documents
// (Context memory on real models), so a codec or tolerance change that a trained model notices is
// caught here. Deterministic: fixed trace, a fixed cost model (every chunk with a file is read,
// never recomputed, whatever the disk), no clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "odlm/context_memory.h"
#include "odlm/engine.h"
#include "platform/file_util.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

// The documented figures (docs/PERFORMANCE.md: KL 0.0020, ppl +0.3%) with room for float
// summation order only. (With 2-bit keys at the lowest level the KL is 0.0026: caught.)
constexpr double kMaxNextTokenKl = 0.0023;
constexpr double kMaxPerplexityRise = 0.02;

// The log-probabilities a logits row gives.
std::vector<double> LogSoftmax(const float* row, int32_t n) {
  const float mx = *std::max_element(row, row + n);
  double z = 0;
  for (int32_t v = 0; v < n; ++v) z += std::exp(row[v] - mx);
  std::vector<double> out(n);
  for (int32_t v = 0; v < n; ++v) out[v] = row[v] - mx - std::log(z);
  return out;
}

double Kl(const float* p_logits, const float* q_logits, int32_t n) {
  const std::vector<double> lp = LogSoftmax(p_logits, n), lq = LogSoftmax(q_logits, n);
  double kl = 0;
  for (int32_t v = 0; v < n; ++v) kl += std::exp(lp[v]) * (lp[v] - lq[v]);
  return kl;
}

struct TraceResult {
  std::vector<std::vector<float>> last_logits;  // per call: the last prompt token's row
  double nll = 0;                               // of the prompts' own tokens, teacher-forced
  int64_t nll_n = 0;
  std::map<KvLevel, int64_t> levels;  // llms: chunk levels at the end
  int64_t peak_stored = 0;
};

class KvMemoryQualityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_SHARED_TESTDATA();
    EngineOptions o;
    o.model_path = odlm::testing::SharedTestdataPath("models/stories260K.gguf");
    o.n_ctx = 1024;  // more than the metadata's 128: allowed with a warning
    o.n_threads = 2;
    auto engine = Engine::Open(o);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
    auto text = ReadFileToString(std::string(ODLM_SOURCE_DIR) + "/tests/data/short_stories.txt");
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    const std::vector<int32_t> ids = engine_->tokenizer().Encode(*text, false, false);
    // Six contexts of 128..400 tokens, each a passage followed by the text its calls append.
    size_t next = 0;
    for (int64_t n : {400, 128, 256, 320, 160, 200}) {
      ASSERT_LE(next + n + kPromptsPerContext * kPrompt, ids.size());
      histories_.emplace_back(ids.begin() + next, ids.begin() + next + n);
      next += n;
      continuations_.emplace_back(ids.begin() + next,
                                  ids.begin() + next + kPromptsPerContext * kPrompt);
      next += kPromptsPerContext * kPrompt;
      fp16_bytes_ += n * 2 * engine_->config().n_layer * engine_->config().kv_dim() * 2;
    }
  }

  TraceResult Run(KvPolicy policy) {
    TraceResult r;
    ContextMemoryOptions o;  // the defaults: ratio, sinks, recent chunks, warm cache
    o.policy = policy;
    o.budget_bytes = policy == KvPolicy::kResident ? 0 : fp16_bytes_ / 4;
    o.swap_dir = (std::filesystem::path(::testing::TempDir()) /
                  ("kv-quality-" + std::string(KvPolicyName(policy))))
                     .string();
    o.measure_costs = false;
    o.cost_model = {.read_fixed_s = 1e-6,
                    .read_s_per_byte = 1e-12,
                    .recompute_fixed_s = 1,
                    .recompute_s_per_chunk = 1};
    auto memory = ContextMemory::Open(engine_.get(), o);
    EXPECT_TRUE(memory.ok()) << memory.status().ToString();
    if (!memory.ok()) return r;
    ContextMemory& m = **memory;
    std::vector<float> logits;
    const int32_t n_vocab = engine_->config().n_vocab;
    auto call = [&](const std::string& key, std::span<const int32_t> tokens, bool all) {
      auto s = m.Acquire(key);
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      if (!s.ok()) return;
      EXPECT_TRUE(engine_->Eval(**s, tokens, all, &logits).ok());
      EXPECT_TRUE(m.Release(key).ok());
    };
    for (size_t c = 0; c < histories_.size(); ++c) call(Key(c), histories_[c], false);
    // A skewed trace: context 0 is called most, the others in between.
    const int kTrace[] = {0, 1, 0, 2, 0, 3, 1, 0, 4, 0, 5, 1, 2, 0, 3, 0, 1, 4, 0, 2, 5, 0, 1, 3};
    std::vector<int> used(histories_.size(), 0);
    for (int c : kTrace) {
      EXPECT_LT(used[c], kPromptsPerContext);
      if (used[c] >= kPromptsPerContext) return r;
      const std::span<const int32_t> prompt(continuations_[c].data() + used[c]++ * kPrompt,
                                            kPrompt);
      call(Key(c), prompt, true);
      if (logits.size() != static_cast<size_t>(kPrompt) * n_vocab) return r;
      r.last_logits.emplace_back(logits.end() - n_vocab, logits.end());
      for (int j = 0; j + 1 < kPrompt; ++j) {
        r.nll -=
            LogSoftmax(logits.data() + static_cast<size_t>(j) * n_vocab, n_vocab)[prompt[j + 1]];
        r.nll_n++;
      }
    }
    for (size_t c = 0; c < histories_.size(); ++c) {
      for (KvLevel l : m.ChunkLevels(Key(c))) r.levels[l]++;
    }
    r.peak_stored = m.stats().peak_stored_bytes;
    return r;
  }

  static std::string Key(size_t c) { return "story/" + std::to_string(c); }

  static constexpr int kPrompt = 16;
  static constexpr int kPromptsPerContext = 10;
  std::unique_ptr<Engine> engine_;
  std::vector<std::vector<int32_t>> histories_, continuations_;
  int64_t fp16_bytes_ = 0;
};

TEST_F(KvMemoryQualityTest, Stories260KAtAQuarterBudgetStaysWithinTheDocumentedKl) {
  const TraceResult resident = Run(KvPolicy::kResident);
  const TraceResult llms = Run(KvPolicy::kLlms);
  ASSERT_EQ(resident.last_logits.size(), 24u);
  ASSERT_EQ(llms.last_logits.size(), 24u);
  const int32_t n_vocab = engine_->config().n_vocab;
  double kl = 0;
  for (size_t i = 0; i < llms.last_logits.size(); ++i) {
    kl += Kl(resident.last_logits[i].data(), llms.last_logits[i].data(), n_vocab);
  }
  kl /= static_cast<double>(llms.last_logits.size());
  const double ppl_rise = std::exp((llms.nll - resident.nll) / llms.nll_n) - 1;
  std::printf(
      "stories260K, quarter budget, default ratio: next-token KL %.5f, ppl %+.2f%%; "
      "chunks 8-bit %lld, 4-bit %lld, 2-bit %lld\n",
      kl, 100 * ppl_rise,
      static_cast<long long>(llms.levels.count(KvLevel::k8) ? llms.levels.at(KvLevel::k8) : 0),
      static_cast<long long>(llms.levels.count(KvLevel::k4) ? llms.levels.at(KvLevel::k4) : 0),
      static_cast<long long>(llms.levels.count(KvLevel::k2) ? llms.levels.at(KvLevel::k2) : 0));
  EXPECT_LE(kl, kMaxNextTokenKl);
  EXPECT_LE(ppl_rise, kMaxPerplexityRise);
  // The figures are about compressed KV: most chunks are below 8 bits, and the budget held.
  int64_t chunks = 0, below8 = 0;
  for (const auto& [level, n] : llms.levels) {
    chunks += n;
    if (level == KvLevel::k4 || level == KvLevel::k2) below8 += n;
  }
  EXPECT_GT(below8, chunks / 2);
  EXPECT_LE(llms.peak_stored, fp16_bytes_ / 4);
}

}  // namespace
}  // namespace odlm
