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

}  // namespace
}  // namespace odlm
