// kv/kv_cache.h — one sequence's KV cache as chunks of tokens.
//
// Memory is allocated a chunk at a time as the sequence grows (a chunk holds K and V of
// `chunk_tokens` tokens), so short contexts cost little. The model writes into it through View()
// (tensor/kv_view.h); this class never knows about the model.
//
// Windowed layers (sliding-window attention: a query at position p reads only positions
// (p - window, p]) keep only their recent chunks: their K/V lives in per-chunk "window blocks"
// that are allocated as the sequence reaches them and freed once every later query is past them
// (plus `window_slack` tokens kept for rollbacks). A chunk's main storage (chunk_data) holds the
// other, full-context layers only; that is what the context memory compresses, swaps and saves,
// and the window blocks are handed over separately (ExportWindowTail / ImportWindowTail).
// Not thread-safe: one user at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
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
  // Windowed layers: layer_windowed[l] for l in [0, n_layer) when window > 0 (empty: none).
  int32_t window = 0;
  std::vector<bool> layer_windowed = {};
  // Tokens of windowed K/V kept beyond what the next query needs, so that a short rollback
  // (a rejected speculative draft, a chat turn re-rendered differently) keeps its cache.
  int32_t window_slack = 64;

  bool IsWindowed(int32_t layer) const {
    return window > 0 && layer_windowed[static_cast<size_t>(layer)];
  }
  // Layers whose every token stays (the layers of chunk_data).
  int32_t n_full_layers() const;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheShape& shape);

  const KvCacheShape& shape() const { return shape_; }
  // Tokens with valid K/V: positions [0, n_tokens()).
  int64_t n_tokens() const { return n_tokens_; }
  // OutOfRange when a context of `total_tokens` would pass max_tokens (what Reserve says then).
  Status CheckFits(int64_t total_tokens) const;
  // Makes room for `total_tokens` tokens: ReserveRange(n_tokens(), total_tokens).
  Status Reserve(int64_t total_tokens);
  // Makes room for a step that writes positions [begin, end) and reads, on windowed layers,
  // positions [begin - window + 1, begin): chunks up to `end`, window blocks for the positions
  // read or written, and frees the window blocks no later query needs. OutOfRange past
  // max_tokens; FailedPrecondition when begin > 0 and the windowed K/V it must read is not held
  // (freed earlier, or never computed in this cache): nothing changes then.
  Status ReserveRange(int64_t begin, int64_t end);
  // After a forward step wrote `n` more tokens.
  void Advance(int64_t n);
  // Forgets tokens past `n` (keeps the memory of allocated chunks) and zeroes their attention
  // sums (attention_received), so a later token at such a position starts afresh. Returns the
  // tokens kept: n, or 0 when a token at position n would need windowed K/V that was already
  // freed (the caller recomputes from the start, as llama.cpp does for sliding-window caches).
  int64_t Truncate(int64_t n);
  // The view for the next step: all allocated chunks, n_past = n_tokens(); a windowed layer's
  // pointer is null for a chunk whose window block is not held. Its chunk pointers stay valid
  // until the next Reserve/ReserveRange, Clear, ImportWindowTail, or the cache's destruction;
  // take a new view for each step.
  KvCacheView View();
  // Bytes allocated for K and V (chunks and window blocks).
  int64_t allocated_bytes() const;
  // Bytes of one chunk's main storage (K and V of the full-context layers; 0 when every layer
  // is windowed).
  int64_t chunk_bytes() const;

  // Allocated chunks and their main storage ([2][n_full_layers][chunk_tokens, kv_dim], K planes
  // first, layers in model order) for whoever compresses, swaps or restores them (kv/context
  // memory). Null when chunk_bytes() is 0.
  int64_t n_chunks() const { return static_cast<int64_t>(chunks_.size()); }
  // Valid until Clear or the cache's destruction (Reserve and Truncate keep existing chunks).
  uint8_t* chunk_data(int64_t c) { return chunks_[c].get(); }

  // The windowed layers' K/V that the next token needs, as one byte string: the window blocks of
  // chunks [WindowTailFirstChunk(n), ChunksFor(n)) for n = n_tokens(). Empty without windowed
  // layers. window_tail_bytes(n) is its size for a cache of n tokens.
  std::vector<uint8_t> ExportWindowTail() const;
  int64_t window_tail_bytes(int64_t n_tokens) const;
  // Puts an exported tail back into a cache prepared for n tokens with ReserveRange(n, n) (the
  // chunks' main storage is restored separately; Advance(n) follows). InvalidArgument when the
  // size does not match n.
  Status ImportWindowTail(int64_t n_tokens, std::span<const uint8_t> tail);

  // Frees every chunk and window block and forgets all tokens.
  void Clear();

  // When on, View() hands the model a per-position accumulator of the attention each position
  // receives ([capacity] floats, summed over layers, heads and queries; zero for new chunks).
  void set_track_attention(bool on) { track_attention_ = on; }
  bool track_attention() const { return track_attention_; }
  // Grows (and may move) with each chunk Reserve allocates; do not keep references across it.
  std::vector<float>& attention_received() { return attention_; }

 private:
  int64_t ChunksFor(int64_t n_tokens) const;
  // The first chunk a query at position `pos` reads on windowed layers.
  int64_t WindowFirstChunk(int64_t pos) const;
  int64_t window_block_bytes() const;
  int64_t plane_bytes() const;

  KvCacheShape shape_;
  std::vector<int32_t> slot_;  // [n_layer]: the layer's index among the full or windowed layers
  int32_t n_full_ = 0, n_windowed_ = 0;
  int64_t n_tokens_ = 0;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;  // each: [2][n_full][chunk_tokens, kv_dim]
  // Per chunk: [2][n_windowed][chunk_tokens, kv_dim] or null. The held blocks are always the
  // chunks [window_first_, chunks_.size()).
  std::vector<std::unique_ptr<uint8_t[]>> window_blocks_;
  int64_t window_first_ = 0;
  bool track_attention_ = false;
  std::vector<float> attention_;  // [chunks_.size() * chunk_tokens] when tracking
};

}  // namespace odlm
