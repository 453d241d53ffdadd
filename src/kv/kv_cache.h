// kv/kv_cache.h — one sequence's KV cache as chunks of tokens spanning all layers.
//
// Memory is allocated a chunk at a time as the sequence grows (a chunk holds K and V of
// `chunk_tokens` tokens for every layer), so short contexts cost little. The model writes into it
// through View() (tensor/kv_view.h); this class never knows about the model.
// Not thread-safe: one user at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "tensor/kv_view.h"

namespace odlm {

struct KvCacheShape {
  int32_t n_layer = 0;
  int32_t kv_dim = 0;
  DType type = DType::kF16;   // F32 or F16
  int32_t chunk_tokens = 16;  // tokens per chunk
  int64_t max_tokens = 4096;  // the context length this cache may grow to
};

class KvCache {
 public:
  explicit KvCache(const KvCacheShape& shape);

  const KvCacheShape& shape() const { return shape_; }
  // Tokens with valid K/V: positions [0, n_tokens()).
  int64_t n_tokens() const { return n_tokens_; }
  // Makes room for `total_tokens` tokens. OutOfRange past max_tokens (nothing changes then).
  Status Reserve(int64_t total_tokens);
  // After a forward step wrote `n` more tokens.
  void Advance(int64_t n);
  // Forgets tokens past `n` (keeps the memory of allocated chunks) and zeroes their attention
  // sums (attention_received), so a later token at such a position starts afresh.
  void Truncate(int64_t n);
  // The view for the next step: all allocated chunks, n_past = n_tokens(). Its chunk pointers
  // stay valid until the next Reserve that allocates a chunk, Clear, or the cache's destruction;
  // take a new view for each step.
  KvCacheView View();
  // Bytes allocated for K and V.
  int64_t allocated_bytes() const;
  // Bytes one chunk takes (K and V, all layers).
  int64_t chunk_bytes() const;

  // Allocated chunks and their memory ([2][n_layer][chunk_tokens, kv_dim], K planes first) for
  // whoever compresses, swaps or restores them (kv/context memory).
  int64_t n_chunks() const { return static_cast<int64_t>(chunks_.size()); }
  // Valid until Clear or the cache's destruction (Reserve and Truncate keep existing chunks).
  uint8_t* chunk_data(int64_t c) { return chunks_[c].get(); }
  // Frees every chunk and forgets all tokens.
  void Clear();

  // When on, View() hands the model a per-position accumulator of the attention each position
  // receives ([capacity] floats, summed over layers, heads and queries; zero for new chunks).
  void set_track_attention(bool on) { track_attention_ = on; }
  bool track_attention() const { return track_attention_; }
  // Grows (and may move) with each chunk Reserve allocates; do not keep references across it.
  std::vector<float>& attention_received() { return attention_; }

 private:
  KvCacheShape shape_;
  int64_t n_tokens_ = 0;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;  // each: [2][n_layer][chunk_tokens, kv_dim]
  bool track_attention_ = false;
  std::vector<float> attention_;  // [chunks_.size() * chunk_tokens] when tracking
};

}  // namespace odlm
