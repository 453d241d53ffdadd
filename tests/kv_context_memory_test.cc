// tests/kv_context_memory_test.cc — ContextMemory (LLMS context memory) on a generated model:
// attention accumulation, recompute of chunk subsets, the budget after every step, exact restore
// with compression off, tolerance with it on, corrupt chunk files, restart and kill -9, and the
// warm working cache of the context released last.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "odlm/context_memory.h"
#include "odlm/engine.h"
#include "tests/support/generated_model.h"

namespace odlm {
namespace {

class ContextMemoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = new std::string(std::string(::testing::TempDir()) + "/kv_context_memory_test.gguf");
    const Status st = testing::WriteSmallGeneratedModel(*path_, /*seed=*/5);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void SetUp() override {
    engine_ = OpenEngine(DType::kF16);
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("kvmem_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::unique_ptr<Engine> OpenEngine(DType kv) {
    EngineOptions eo;
    eo.model_path = *path_;
    eo.n_threads = 2;
    eo.kv_type = kv;
    eo.max_batch_tokens = 64;
    auto e = Engine::Open(eo);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }
  std::unique_ptr<ContextMemory> Memory(KvPolicy policy, int64_t budget, bool swap, bool compress,
                                        double ratio = 0.5, Engine* engine = nullptr) {
    ContextMemoryOptions o;
    o.policy = policy;
    o.budget_bytes = budget;
    o.swap_dir = swap ? dir_.string() : "";
    o.compress = compress;
    o.compression_ratio = ratio;
    o.measure_costs = false;
    // Off unless a test is about it: the others exercise restores, which a warm cache skips.
    o.keep_warm = keep_warm_;
    // Reads far cheaper than recompute: every chunk with a file is read.
    o.cost_model = {.read_fixed_s = 1e-6,
                    .read_s_per_byte = 1e-12,
                    .recompute_fixed_s = 1,
                    .recompute_s_per_chunk = 1};
    auto m = ContextMemory::Open(engine ? engine : engine_.get(), o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return std::move(m).value();
  }
  static std::vector<int32_t> Tokens(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& x : t) x = 1 + static_cast<int32_t>(rng() % 390);
    return t;
  }
  // One call: acquire, evaluate, release. Returns the last token's logits.
  std::vector<float> Call(ContextMemory& m, const std::string& key,
                          const std::vector<int32_t>& tokens, Engine* engine = nullptr) {
    auto s = m.Acquire(key);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    std::vector<float> logits;
    EXPECT_TRUE((engine ? engine : engine_.get())->Eval(**s, tokens, false, &logits).ok());
    EXPECT_TRUE(m.Release(key).ok());
    return logits;
  }
  // A fixed trace of calls over 5 contexts; returns the final call's logits on "a".
  std::vector<float> RunTrace(ContextMemory& m, int64_t budget) {
    std::mt19937 rng(3);
    for (int step = 0; step < 24; ++step) {
      const std::string key(1, static_cast<char>('a' + rng() % 5));
      Call(m, key, Tokens(step < 5 ? 70 + 9 * step : 1 + rng() % 20, 100 + step));
      if (budget > 0) {
        EXPECT_LE(m.stats().stored_bytes, budget) << "step " << step;
      }
    }
    return Call(m, "a", Tokens(3, 999));
  }
  static double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    double d = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
      d = std::max<double>(d, std::abs(a[i] - b[i]));
    return d;
  }
  // KL(p_want || p_got) of the next-token distributions, in nats.
  static double Kl(const std::vector<float>& want, const std::vector<float>& got) {
    auto probs = [](const std::vector<float>& l) {
      const float mx = *std::max_element(l.begin(), l.end());
      std::vector<double> p(l.size());
      double z = 0;
      for (size_t i = 0; i < l.size(); ++i) z += p[i] = std::exp(static_cast<double>(l[i] - mx));
      for (double& v : p) v /= z;
      return p;
    };
    const auto p = probs(want), q = probs(got);
    double kl = 0;
    for (size_t i = 0; i < p.size(); ++i) kl += p[i] * std::log(p[i] / q[i]);
    return kl;
  }
  static std::string* path_;
  bool keep_warm_ = false;
  std::unique_ptr<Engine> engine_;
  std::filesystem::path dir_;
};
std::string* ContextMemoryTest::path_ = nullptr;

TEST_F(ContextMemoryTest, AttentionReceivedSumsToOnePerQueryHeadLayer) {
  auto s = engine_->NewSession();
  s->kv().set_track_attention(true);
  std::vector<float> logits;
  ASSERT_TRUE(engine_->Eval(*s, Tokens(40, 1), false, &logits).ok());  // one step of 40
  ASSERT_TRUE(engine_->Eval(*s, Tokens(1, 2), false, &logits).ok());   // one decode step
  double total = 0;
  for (float v : s->kv().attention_received()) total += v;
  EXPECT_NEAR(total, 41.0 * 2 /*layers*/ * 4 /*heads*/, 1e-2);
  // The first position is seen by every query: it receives at least 1/41 of each.
  EXPECT_GT(s->kv().attention_received()[0], 41 * 8 / 41.0 - 1e-3);
  EXPECT_EQ(s->kv().attention_received()[45], 0.0f);  // past the tokens: nothing
}

TEST_F(ContextMemoryTest, RecomputeOfAnySubsetOfChunksReproducesTheKv) {
  auto engine = OpenEngine(DType::kF32);
  auto s = engine->NewSession();
  std::vector<float> logits;
  ASSERT_TRUE(engine->Eval(*s, Tokens(150, 4), false, &logits).ok());  // 10 chunks (last partial)
  KvCache& kv = s->kv();
  const int64_t cb = kv.chunk_bytes();
  std::vector<std::vector<uint8_t>> orig;
  for (int64_t c = 0; c < kv.n_chunks(); ++c)
    orig.emplace_back(kv.chunk_data(c), kv.chunk_data(c) + cb);
  const std::vector<std::vector<int32_t>> subsets = {
      {0}, {9}, {3, 4, 5}, {0, 2, 7, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (const auto& subset : subsets) {
    for (int32_t c : subset) std::memset(kv.chunk_data(c), 0x7B, cb);  // garbage
    for (int32_t c : subset) {
      ASSERT_TRUE(engine->RecomputeKv(*s, c * 16, std::min<int64_t>(150, (c + 1) * 16)).ok());
    }
    for (int64_t c = 0; c < kv.n_chunks(); ++c) {
      const float* a = reinterpret_cast<const float*>(orig[c].data());
      const float* b = reinterpret_cast<const float*>(kv.chunk_data(c));
      const int64_t valid_rows = std::min<int64_t>(16, 150 - c * 16);
      for (int64_t p = 0; p < 2 * 2; ++p) {  // [2][n_layer] planes
        for (int64_t i = 0; i < valid_rows * 64; ++i) {
          const int64_t at = p * 16 * 64 + i;
          ASSERT_NEAR(a[at], b[at], 1e-4 + 1e-4 * std::abs(a[at])) << "chunk " << c;
        }
      }
    }
  }
}

// A restore that reads some chunks and recomputes the others (overlapped, as planned from the cost
// model) gives the resident KV: bit-exact for the chunks read (compression off), within float
// tolerance for the chunks recomputed; the next call's logits agree.
TEST_F(ContextMemoryTest, RestoreMixingReadsAndRecomputeMatchesResident) {
  auto engine = OpenEngine(DType::kF32);
  auto ref = Memory(KvPolicy::kResident, 0, false, true, 0.5, engine.get());
  ContextMemoryOptions o;
  o.policy = KvPolicy::kLlms;
  o.budget_bytes = 1;  // nothing stays in memory: every chunk is read or recomputed
  o.swap_dir = dir_.string();
  o.compress = false;
  o.measure_costs = false;
  o.keep_warm = false;
  // Per file reads cost 1 s, a recompute pass 0.5 s + 1 s per chunk: of 10 missing chunks the
  // planner recomputes the first 5 while it reads the other 5 (max(5.5, 5) beats any other split).
  o.cost_model = {.read_fixed_s = 1,
                  .read_s_per_byte = 1e-12,
                  .recompute_fixed_s = 0.5,
                  .recompute_s_per_chunk = 1};
  auto opened = ContextMemory::Open(engine.get(), o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ContextMemory& m = **opened;
  const std::vector<int32_t> history = Tokens(150, 4);  // 10 chunks, the last one partial
  Call(*ref, "a", history, engine.get());
  Call(m, "a", history, engine.get());
  EXPECT_EQ(m.stats().stored_bytes, 0);
  auto sr = ref->Acquire("a");
  auto sm = m.Acquire("a");
  ASSERT_TRUE(sr.ok() && sm.ok());
  const RestoreInfo info = m.last_restore();
  EXPECT_EQ(info.chunks_recomputed, 5);
  EXPECT_EQ(info.chunks_read, 5);
  EXPECT_EQ(info.chunks_resident, 0);
  KvCache& a = (*sr)->kv();
  KvCache& b = (*sm)->kv();
  ASSERT_EQ(a.n_chunks(), 10);
  ASSERT_EQ(b.n_chunks(), 10);
  for (int64_t c = 0; c < 10; ++c) {
    const int64_t rows = std::min<int64_t>(16, 150 - c * 16);
    const auto* x = reinterpret_cast<const float*>(a.chunk_data(c));
    const auto* y = reinterpret_cast<const float*>(b.chunk_data(c));
    for (int64_t p = 0; p < 2 * 2; ++p) {  // [2][n_layer] planes of [16, 64]
      const int64_t at = p * 16 * 64;
      if (c >= info.chunks_recomputed) {  // read from disk: the very bytes
        ASSERT_EQ(std::memcmp(x + at, y + at, rows * 64 * 4), 0) << "chunk " << c;
        continue;
      }
      for (int64_t i = 0; i < rows * 64; ++i) {
        ASSERT_NEAR(x[at + i], y[at + i], 1e-4 + 1e-4 * std::abs(x[at + i])) << "chunk " << c;
      }
    }
  }
  std::vector<float> la, lb;
  const std::vector<int32_t> next = Tokens(3, 5);
  ASSERT_TRUE(engine->Eval(**sr, next, false, &la).ok());
  ASSERT_TRUE(engine->Eval(**sm, next, false, &lb).ok());
  EXPECT_LT(MaxAbsDiff(la, lb), 1e-3);
  EXPECT_TRUE(ref->Release("a").ok());
  EXPECT_TRUE(m.Release("a").ok());
}

TEST_F(ContextMemoryTest, BudgetHoldsAfterEveryStepForEveryPolicy) {
  auto ref = Memory(KvPolicy::kResident, 0, false, true);
  RunTrace(*ref, 0);
  const int64_t all = ref->stats().stored_bytes;
  ASSERT_GT(all, 0);
  for (KvPolicy p : {KvPolicy::kLlms, KvPolicy::kRecompute, KvPolicy::kSwap}) {
    std::filesystem::remove_all(dir_);
    const int64_t budget = all / 4;
    auto m = Memory(p, budget, true, true);
    RunTrace(*m, budget);
    EXPECT_LE(m->stats().peak_stored_bytes, budget) << KvPolicyName(p);
    EXPECT_GT(m->stats().evictions, 0) << KvPolicyName(p);
  }
}

TEST_F(ContextMemoryTest, ExactWhenCompressionIsOffAndChunksComeFromDisk) {
  auto ref = Memory(KvPolicy::kResident, 0, false, true);
  const std::vector<float> want = RunTrace(*ref, 0);
  auto m = Memory(KvPolicy::kLlms, 30000, true, /*compress=*/false);
  const std::vector<float> got = RunTrace(*m, 30000);
  EXPECT_EQ(got, want);
  EXPECT_GT(m->stats().chunks_read, 0);
  // The whole-context swap baseline is exact too.
  std::filesystem::remove_all(dir_);
  auto swap = Memory(KvPolicy::kSwap, 30000, true, false);
  EXPECT_EQ(RunTrace(*swap, 30000), want);
}

TEST_F(ContextMemoryTest, TightBudgetWithinToleranceOfResident8Bit) {
  // Reference: every chunk 8-bit, all resident. Same trace under a tight budget: chunks evicted,
  // read back or recomputed (no swap directory: recomputed from attending to 8-bit KV).
  auto ref = Memory(KvPolicy::kLlms, 0, false, true, /*ratio=*/1.0);
  const std::vector<float> want = RunTrace(*ref, 0);
  auto tight = Memory(KvPolicy::kLlms, 8000, false, true, 1.0);
  const std::vector<float> got = RunTrace(*tight, 8000);
  EXPECT_GT(tight->stats().chunks_recomputed, 0);
  const double kl8 = Kl(want, got);
  EXPECT_LT(kl8, 1e-3) << "8-bit, tight budget vs resident";
  // Compressed to 50% of 8-bit: the tight budget adds little to what compression itself costs.
  auto half_resident = Memory(KvPolicy::kLlms, 0, false, true, 0.5);
  const std::vector<float> want_half = RunTrace(*half_resident, 0);
  std::filesystem::remove_all(dir_);
  auto half = Memory(KvPolicy::kLlms, 8000, true, true, 0.5);
  const std::vector<float> got_half = RunTrace(*half, 8000);
  const double kl_compress = Kl(want, want_half), kl_half = Kl(want_half, got_half);
  EXPECT_LT(kl_half, 0.02) << "50%, tight budget vs 50% resident";
  EXPECT_LT(kl_compress, 0.5) << "50% vs 8-bit, both resident";
  std::cout << "next-token KL: 8-bit tight vs resident " << kl8 << "; 50% tight vs 50% resident "
            << kl_half << "; 50% resident vs 8-bit resident " << kl_compress << "\n";
  const auto levels = half->ChunkLevels("a");
  EXPECT_NE(std::count(levels.begin(), levels.end(), KvLevel::k2), 0);
}

TEST_F(ContextMemoryTest, CorruptOrMissingChunkFilesAreRecomputedNotUsed) {
  auto ref = Memory(KvPolicy::kResident, 0, false, true);
  Call(*ref, "a", Tokens(100, 1));
  const std::vector<float> want = Call(*ref, "a", Tokens(2, 2));
  auto m = Memory(KvPolicy::kLlms, 1, true, /*compress=*/false);  // nothing stays in memory
  Call(*m, "a", Tokens(100, 1));
  EXPECT_EQ(m->stats().stored_bytes, 0);
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().extension() != ".kv") continue;
    if (n == 1) {  // flip one payload byte
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(200);
      f.put('\x55');
    } else if (n == 3) {
      std::filesystem::remove(e.path());
    }
    ++n;
  }
  ASSERT_GE(n, 5);
  const std::vector<float> got = Call(*m, "a", Tokens(2, 2));
  EXPECT_EQ(m->last_restore().chunks_corrupt, 2);
  EXPECT_EQ(m->last_restore().chunks_recomputed, 2);
  double scale = 0;
  for (float v : want) scale = std::max<double>(scale, std::abs(v));
  EXPECT_LT(MaxAbsDiff(got, want), 0.01 * scale);
}

TEST_F(ContextMemoryTest, ContextsSurviveRestartAndKill9) {
  auto ref = Memory(KvPolicy::kResident, 0, false, true);
  Call(*ref, "app/one", Tokens(90, 7));
  Call(*ref, "app/two", Tokens(40, 8));
  const std::vector<float> want = Call(*ref, "app/one", Tokens(2, 9));
  ref.reset();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child: its own engine and memory, then kill -9 right after the calls
    auto engine = OpenEngine(DType::kF16);
    ContextMemoryOptions o;
    o.swap_dir = dir_.string();
    o.compress = false;
    o.measure_costs = false;
    // Off unless a test is about it: the others exercise restores, which a warm cache skips.
    o.keep_warm = keep_warm_;
    o.budget_bytes = 1;
    auto m = ContextMemory::Open(engine.get(), o);
    if (!m.ok()) ::_exit(3);
    for (auto [key, seed, n] : {std::tuple{"app/one", 7, 90}, {"app/two", 8, 40}}) {
      auto s = (*m)->Acquire(key);
      std::vector<float> l;
      if (!s.ok() || !engine->Eval(**s, Tokens(n, seed), false, &l).ok()) ::_exit(4);
      if (!(*m)->Release(key).ok()) ::_exit(5);
    }
    ::kill(::getpid(), SIGKILL);
    ::_exit(6);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  auto m = Memory(KvPolicy::kLlms, 1, true, false);
  EXPECT_EQ(m->List(), (std::vector<std::string>{"app/one", "app/two"}));
  const std::vector<float> got = Call(*m, "app/one", Tokens(2, 9));
  EXPECT_EQ(m->last_restore().chunks_read, 6);  // ceil(90 / 16): all from disk, none recomputed
  EXPECT_EQ(got, want);
}

// A follow-up call on the context just released finds its working cache still complete: nothing
// is restored, and its logits are the resident ones exactly (the KV as computed, not as
// compressed). Another context's Acquire frees that cache first.
TEST_F(ContextMemoryTest, WarmFollowUpRestoresNothingAndIsExact) {
  auto ref = Memory(KvPolicy::kResident, 0, false, true);
  Call(*ref, "a", Tokens(100, 1));
  const std::vector<float> want = Call(*ref, "a", Tokens(2, 2));
  keep_warm_ = true;
  auto m = Memory(KvPolicy::kLlms, 3000, true, /*compress=*/true);
  Call(*m, "a", Tokens(100, 1));
  EXPECT_EQ(m->CachedTokens("a"), 100) << "warm: all of it";
  EXPECT_EQ(m->CachedTokens("nosuch"), 0);
  const int64_t one_cache = m->stats().working_bytes;
  EXPECT_GT(one_cache, 0) << "the released context's cache is kept and reported";
  EXPECT_LE(m->stats().stored_bytes, 3000);
  EXPECT_EQ(Call(*m, "a", Tokens(2, 2)), want);
  EXPECT_TRUE(m->last_restore().warm);
  EXPECT_EQ(m->last_restore().chunks_read + m->last_restore().chunks_recomputed, 0);
  // Switching: b's Acquire frees a's cache before allocating its own.
  auto b = m->Acquire("b");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(m->last_restore().warm);
  EXPECT_LT(m->stats().working_bytes, one_cache) << "only b's (empty) cache is held";
  // a's compressed chunks do not all fit the budget: some of its tokens are only on disk.
  EXPECT_LT(m->CachedTokens("a"), 102);
  ASSERT_TRUE(m->Release("b").ok());
  // Back on a: restored from its (compressed, partly swapped) chunks, close to resident.
  const std::vector<float> got = Call(*m, "a", Tokens(2, 3));
  EXPECT_FALSE(m->last_restore().warm);
  EXPECT_GT(m->last_restore().chunks_read, 0);
  std::vector<float> want3 = Call(*ref, "a", Tokens(2, 3));
  EXPECT_LT(Kl(want3, got), 0.5) << "as TightBudgetWithinToleranceOfResident8Bit's 50% bound";
  // A warm context can be deleted; a new one under its name starts empty.
  EXPECT_TRUE(m->Delete("a").ok());
  EXPECT_EQ(m->stats().working_bytes, 0);
  auto fresh = m->Acquire("a");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ((*fresh)->n_tokens(), 0);
  EXPECT_FALSE(m->last_restore().warm);
  ASSERT_TRUE(m->Release("a").ok());
}

// The budget holds after every step of a trace with warm caches too, and the trace ends with the
// same logits within the compressed tolerance.
TEST_F(ContextMemoryTest, BudgetHoldsWithWarmCaches) {
  auto ref = Memory(KvPolicy::kResident, 0, false, true);
  const std::vector<float> want = RunTrace(*ref, 0);
  const int64_t budget = ref->stats().stored_bytes / 4;
  auto cold = Memory(KvPolicy::kLlms, budget, true, true);
  const double kl_cold = Kl(want, RunTrace(*cold, budget));
  std::filesystem::remove_all(dir_);
  keep_warm_ = true;
  auto m = Memory(KvPolicy::kLlms, budget, true, true);
  const double kl_warm = Kl(want, RunTrace(*m, budget));
  EXPECT_LE(m->stats().peak_stored_bytes, budget);
  EXPECT_LT(kl_warm, 0.5) << "as TightBudgetWithinToleranceOfResident8Bit's 50% bound";
  std::cout << "next-token KL vs resident after the trace: cold " << kl_cold << ", warm " << kl_warm
            << "\n";
}

}  // namespace
}  // namespace odlm
