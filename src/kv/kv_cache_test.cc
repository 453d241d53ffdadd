#include "kv/kv_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace odlm {
namespace {

TEST(KvCacheTest, GrowsByChunksAndViewsAddressRows) {
  KvCache cache(
      {.n_layer = 3, .kv_dim = 8, .type = DType::kF32, .chunk_tokens = 4, .max_tokens = 10});
  EXPECT_EQ(cache.allocated_bytes(), 0);
  ASSERT_TRUE(cache.Reserve(5).ok());
  EXPECT_EQ(cache.allocated_bytes(), 2 * cache.chunk_bytes());
  EXPECT_EQ(cache.chunk_bytes(), 2 * 3 * 4 * 8 * 4);
  KvCacheView v = cache.View();
  EXPECT_EQ(v.capacity(), 8);
  EXPECT_EQ(v.n_past, 0);
  // Every (layer, token) row of K and V is distinct memory.
  for (int l = 0; l < 3; ++l) {
    for (int t = 0; t < 8; ++t) {
      float val = static_cast<float>(l * 100 + t);
      float* k = static_cast<float*>(v.KRow(l, t));
      float* vv = static_cast<float*>(v.VRow(l, t));
      for (int e = 0; e < 8; ++e) {
        k[e] = val;
        vv[e] = -val;
      }
    }
  }
  for (int l = 0; l < 3; ++l) {
    for (int t = 0; t < 8; ++t) {
      EXPECT_EQ(static_cast<float*>(v.KRow(l, t))[7], l * 100 + t);
      EXPECT_EQ(static_cast<float*>(v.VRow(l, t))[0], -(l * 100 + t));
    }
  }
  cache.Advance(5);
  EXPECT_EQ(cache.View().n_past, 5);
  cache.Truncate(2);
  EXPECT_EQ(cache.n_tokens(), 2);
}

// A truncated position's attention sum belonged to the token that is gone (a rejected speculative
// draft, a turn edited away): the next token there starts from zero.
TEST(KvCacheTest, TruncateClearsTheForgottenPositionsAttention) {
  KvCache cache(
      {.n_layer = 1, .kv_dim = 2, .type = DType::kF32, .chunk_tokens = 4, .max_tokens = 8});
  cache.set_track_attention(true);
  ASSERT_TRUE(cache.Reserve(6).ok());
  KvCacheView v = cache.View();
  for (int t = 0; t < 6; ++t) v.attention_received[t] = 1.0f + t;
  cache.Advance(6);
  cache.Truncate(3);
  const std::vector<float>& a = cache.attention_received();
  EXPECT_EQ(std::vector<float>(a.begin(), a.begin() + 6),
            (std::vector<float>{1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f}));
}

TEST(KvCacheTest, RefusesToGrowPastItsLimit) {
  KvCache cache(
      {.n_layer = 1, .kv_dim = 2, .type = DType::kF16, .chunk_tokens = 4, .max_tokens = 6});
  EXPECT_TRUE(cache.Reserve(6).ok());
  Status s = cache.Reserve(7);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("limit of 6 tokens"), std::string::npos);
  EXPECT_EQ(cache.allocated_bytes(), 2 * cache.chunk_bytes());
}

// Layers 0 and 2 windowed (window 6), layer 1 full; chunks of 4 tokens, slack 4.
KvCacheShape WindowedShape() {
  return {.n_layer = 3,
          .kv_dim = 2,
          .type = DType::kF32,
          .chunk_tokens = 4,
          .max_tokens = 64,
          .window = 6,
          .layer_windowed = {true, false, true},
          .window_slack = 4};
}

// Writes value(l, t) into every element of layer l's K row t (and its negative into V).
void WriteRows(KvCacheView& v, int64_t begin, int64_t end) {
  for (int l = 0; l < v.n_layer; ++l) {
    for (int64_t t = begin; t < end; ++t) {
      auto* k = static_cast<float*>(v.KRow(l, t));
      auto* vv = static_cast<float*>(v.VRow(l, t));
      for (int e = 0; e < v.kv_dim; ++e) k[e] = l * 1000.0f + t, vv[e] = -(l * 1000.0f + t);
    }
  }
}

TEST(KvCacheTest, WindowedLayersKeepOnlyTheirWindowFullLayersEverything) {
  KvCache cache(WindowedShape());
  EXPECT_EQ(WindowedShape().n_full_layers(), 1);
  EXPECT_EQ(cache.chunk_bytes(), 2 * 1 * 4 * 2 * 4);  // the full layer only
  const int64_t block = 2 * 2 * 4 * 2 * 4;            // both windowed layers of one chunk
  // Decode one token at a time up to 40 tokens, checking every row a query reads.
  for (int64_t t = 0; t < 40; ++t) {
    ASSERT_TRUE(cache.Reserve(t + 1).ok());
    KvCacheView v = cache.View();
    WriteRows(v, t, t + 1);
    for (int l = 0; l < 3; ++l) {
      const int64_t from = l == 1 ? 0 : std::max<int64_t>(0, t - 5);
      for (int64_t j = from; j <= t; ++j) {
        ASSERT_NE(v.KRow(l, j), nullptr);
        EXPECT_EQ(static_cast<float*>(v.KRow(l, j))[1], l * 1000.0f + j) << l << " " << j;
        EXPECT_EQ(static_cast<float*>(v.VRow(l, j))[0], -(l * 1000.0f + j));
      }
    }
    cache.Advance(1);
    // Held window blocks: the chunks of [t - 5 - slack, t] at most, so at most 4.
    const int64_t blocks =
        (cache.allocated_bytes() - cache.n_chunks() * cache.chunk_bytes()) / block;
    EXPECT_LE(blocks, 4) << t;
  }
  EXPECT_EQ(cache.n_chunks(), 10);
  // The windowed layers' first chunks are gone from the view.
  KvCacheView v = cache.View();
  EXPECT_EQ(v.k_chunks[0 * 10 + 0], nullptr);
  EXPECT_EQ(v.v_chunks[2 * 10 + 1], nullptr);
  EXPECT_NE(v.k_chunks[1 * 10 + 0], nullptr);
}

TEST(KvCacheTest, WindowedTruncateKeepsShortRollbacksAndRestartsLongOnes) {
  KvCache cache(WindowedShape());
  for (int64_t t = 0; t < 40; t += 8) {
    ASSERT_TRUE(cache.Reserve(t + 8).ok());
    KvCacheView v = cache.View();
    WriteRows(v, t, t + 8);
    cache.Advance(8);
  }
  // Within window + slack of the last step's start (32): kept, and the rows are intact.
  EXPECT_EQ(cache.Truncate(35), 35);
  ASSERT_TRUE(cache.Reserve(36).ok());
  KvCacheView v = cache.View();
  for (int64_t j = 30; j < 35; ++j) EXPECT_EQ(static_cast<float*>(v.KRow(2, j))[0], 2000.0f + j);
  // Far back: the windowed rows a token at 10 reads are freed, so nothing is kept.
  EXPECT_EQ(cache.Truncate(10), 0);
  EXPECT_EQ(cache.n_tokens(), 0);
  // From 0 again, every row is there once written.
  ASSERT_TRUE(cache.Reserve(12).ok());
  v = cache.View();
  WriteRows(v, 0, 12);
  cache.Advance(12);
  for (int64_t j = 6; j < 12; ++j) EXPECT_EQ(static_cast<float*>(v.KRow(0, j))[0], 0.0f + j);
}

TEST(KvCacheTest, WindowedReserveRangeRefusesToReadFreedRows) {
  KvCache cache(WindowedShape());
  ASSERT_TRUE(cache.Reserve(40).ok());
  cache.Advance(40);
  ASSERT_TRUE(cache.Reserve(41).ok());  // frees the windowed chunks before 40 - 5 - 4
  const int64_t bytes = cache.allocated_bytes();
  const Status s = cache.ReserveRange(12, 20);  // a recompute from 12 would read 7..11
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("recompute from the start"), std::string::npos) << s.ToString();
  EXPECT_EQ(cache.allocated_bytes(), bytes);
  EXPECT_TRUE(cache.ReserveRange(0, 8).ok());  // from the start is always possible
}

TEST(KvCacheTest, WindowTailRoundTripsIntoAFreshCache) {
  KvCache a(WindowedShape());
  ASSERT_TRUE(a.Reserve(23).ok());
  KvCacheView va = a.View();
  WriteRows(va, 0, 23);
  a.Advance(23);
  const std::vector<uint8_t> tail = a.ExportWindowTail();
  // A token at 23 reads 18..22: chunks 4 and 5.
  EXPECT_EQ(static_cast<int64_t>(tail.size()), a.window_tail_bytes(23));
  EXPECT_EQ(tail.size(), 2u * 2 * 2 * 4 * 2 * 4);
  KvCache b(WindowedShape());
  ASSERT_TRUE(b.ReserveRange(23, 23).ok());
  EXPECT_EQ(b.ImportWindowTail(4, tail).code(), StatusCode::kInvalidArgument);  // wrong size
  ASSERT_TRUE(b.ImportWindowTail(23, tail).ok());
  for (int64_t c = 0; c < b.n_chunks(); ++c) {
    std::memcpy(b.chunk_data(c), a.chunk_data(c), b.chunk_bytes());
  }
  b.Advance(23);
  KvCacheView vb = b.View();
  for (int64_t j = 18; j < 23; ++j) {
    for (int l = 0; l < 3; ++l) {
      EXPECT_EQ(static_cast<float*>(vb.KRow(l, j))[0], l * 1000.0f + j);
      EXPECT_EQ(static_cast<float*>(vb.VRow(l, j))[1], -(l * 1000.0f + j));
    }
  }
  EXPECT_EQ(vb.k_chunks[0 * vb.n_chunks + 3], nullptr);  // never held: before the window
  EXPECT_TRUE(b.Reserve(24).ok());                       // and it goes on from there
}

TEST(KvCacheTest, EveryLayerWindowedHasEmptyChunks) {
  KvCacheShape shape = WindowedShape();
  shape.layer_windowed = {true, true, true};
  KvCache cache(shape);
  EXPECT_EQ(cache.chunk_bytes(), 0);
  ASSERT_TRUE(cache.Reserve(30).ok());
  EXPECT_EQ(cache.chunk_data(0), nullptr);
  KvCacheView v = cache.View();
  WriteRows(v, 0, 30);
  cache.Advance(30);
  ASSERT_TRUE(cache.Reserve(31).ok());
  EXPECT_LE(cache.allocated_bytes(), 4 * 2 * 3 * 4 * 2 * 4);
  EXPECT_EQ(static_cast<float*>(cache.View().KRow(1, 29))[0], 1029.0f);
}

}  // namespace
}  // namespace odlm
