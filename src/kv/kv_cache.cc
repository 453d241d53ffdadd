// kv/kv_cache.cc — chunked KV storage.
#include "kv/kv_cache.h"

#include <algorithm>

#include "base/check.h"

namespace odlm {

KvCache::KvCache(const KvCacheShape& shape) : shape_(shape) {
  CHECK(shape.type == DType::kF32 || shape.type == DType::kF16);
  CHECK_GT(shape.chunk_tokens, 0);
  CHECK_GT(shape.n_layer, 0);
  CHECK_GT(shape.kv_dim, 0);
}

int64_t KvCache::chunk_bytes() const {
  const int64_t elem = shape_.type == DType::kF16 ? 2 : 4;
  return 2LL * shape_.n_layer * shape_.chunk_tokens * shape_.kv_dim * elem;
}

Status KvCache::Reserve(int64_t total_tokens) {
  if (total_tokens > shape_.max_tokens) {
    return OutOfRangeError("context of " + std::to_string(total_tokens) +
                           " tokens exceeds the KV cache's limit of " +
                           std::to_string(shape_.max_tokens) + " tokens");
  }
  const int64_t need = (total_tokens + shape_.chunk_tokens - 1) / shape_.chunk_tokens;
  while (static_cast<int64_t>(chunks_.size()) < need) {
    chunks_.emplace_back(new uint8_t[chunk_bytes()]);
  }
  if (track_attention_) attention_.resize(chunks_.size() * shape_.chunk_tokens, 0.0f);
  return Status::Ok();
}

void KvCache::Advance(int64_t n) {
  CHECK_LE(n_tokens_ + n, static_cast<int64_t>(chunks_.size()) * shape_.chunk_tokens);
  n_tokens_ += n;
}

void KvCache::Truncate(int64_t n) {
  CHECK_GE(n, 0);
  if (n >= n_tokens_) return;
  // The forgotten positions' attention sums belong to tokens that are gone; the next token
  // written at such a position starts from zero, as a position never used would.
  if (n < static_cast<int64_t>(attention_.size())) {
    std::fill(attention_.begin() + n, attention_.end(), 0.0f);
  }
  n_tokens_ = n;
}

KvCacheView KvCache::View() {
  KvCacheView v;
  v.type = shape_.type;
  v.n_layer = shape_.n_layer;
  v.kv_dim = shape_.kv_dim;
  v.chunk_tokens = shape_.chunk_tokens;
  v.n_chunks = static_cast<int32_t>(chunks_.size());
  v.n_past = static_cast<int32_t>(n_tokens_);
  if (track_attention_) {
    attention_.resize(chunks_.size() * shape_.chunk_tokens, 0.0f);
    v.attention_received = attention_.data();
  }
  v.k_chunks.resize(static_cast<size_t>(v.n_layer) * v.n_chunks);
  v.v_chunks.resize(v.k_chunks.size());
  const int64_t elem = shape_.type == DType::kF16 ? 2 : 4;
  const int64_t plane = static_cast<int64_t>(shape_.chunk_tokens) * shape_.kv_dim * elem;
  for (int32_t c = 0; c < v.n_chunks; ++c) {
    uint8_t* base = chunks_[c].get();
    for (int32_t l = 0; l < v.n_layer; ++l) {
      v.k_chunks[static_cast<size_t>(l) * v.n_chunks + c] = base + l * plane;
      v.v_chunks[static_cast<size_t>(l) * v.n_chunks + c] = base + (v.n_layer + l) * plane;
    }
  }
  return v;
}

void KvCache::Clear() {
  chunks_.clear();
  chunks_.shrink_to_fit();
  attention_.clear();
  attention_.shrink_to_fit();
  n_tokens_ = 0;
}

int64_t KvCache::allocated_bytes() const {
  return static_cast<int64_t>(chunks_.size()) * chunk_bytes();
}

}  // namespace odlm
