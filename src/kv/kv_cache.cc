// kv/kv_cache.cc — chunked KV storage, with windowed layers kept only for their window.
#include "kv/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace odlm {

int32_t KvCacheShape::n_full_layers() const {
  int32_t n = 0;
  for (int32_t l = 0; l < n_layer; ++l) n += IsWindowed(l) ? 0 : 1;
  return n;
}

KvCache::KvCache(const KvCacheShape& shape) : shape_(shape) {
  CHECK(shape.type == DType::kF32 || shape.type == DType::kF16);
  CHECK_GT(shape.chunk_tokens, 0);
  CHECK_GT(shape.n_layer, 0);
  CHECK_GT(shape.kv_dim, 0);
  CHECK_GE(shape.window, 0);
  CHECK_GE(shape.window_slack, 0);
  if (shape.window > 0) CHECK_EQ(static_cast<int32_t>(shape.layer_windowed.size()), shape.n_layer);
  slot_.resize(shape.n_layer);
  for (int32_t l = 0; l < shape.n_layer; ++l) {
    slot_[l] = shape.IsWindowed(l) ? n_windowed_++ : n_full_++;
  }
}

int64_t KvCache::plane_bytes() const {
  const int64_t elem = shape_.type == DType::kF16 ? 2 : 4;
  return static_cast<int64_t>(shape_.chunk_tokens) * shape_.kv_dim * elem;
}

int64_t KvCache::chunk_bytes() const { return 2LL * n_full_ * plane_bytes(); }

int64_t KvCache::window_block_bytes() const { return 2LL * n_windowed_ * plane_bytes(); }

int64_t KvCache::ChunksFor(int64_t n_tokens) const {
  return (n_tokens + shape_.chunk_tokens - 1) / shape_.chunk_tokens;
}

int64_t KvCache::WindowFirstChunk(int64_t pos) const {
  return std::max<int64_t>(0, pos - shape_.window + 1) / shape_.chunk_tokens;
}

Status KvCache::CheckFits(int64_t total_tokens) const {
  if (total_tokens > shape_.max_tokens) {
    return OutOfRangeError("context of " + std::to_string(total_tokens) +
                           " tokens exceeds the KV cache's limit of " +
                           std::to_string(shape_.max_tokens) + " tokens");
  }
  return Status::Ok();
}

Status KvCache::Reserve(int64_t total_tokens) { return ReserveRange(n_tokens_, total_tokens); }

Status KvCache::ReserveRange(int64_t begin, int64_t end) {
  CHECK(0 <= begin && begin <= end) << begin << " " << end;
  RETURN_IF_ERROR(CheckFits(end));
  const bool fresh = chunks_.empty();
  const int64_t first = n_windowed_ > 0 ? WindowFirstChunk(begin) : 0;
  if (n_windowed_ > 0 && begin > 0 && !fresh && first < window_first_) {
    return FailedPreconditionError("the sliding-window layers' K/V before position " +
                                   std::to_string(window_first_ * shape_.chunk_tokens) +
                                   " was freed; position " + std::to_string(begin) +
                                   " needs it from " + std::to_string(first * shape_.chunk_tokens) +
                                   " (recompute from the start)");
  }
  if (!fresh) CHECK_LE(begin, static_cast<int64_t>(chunks_.size()) * shape_.chunk_tokens);
  const int64_t need = ChunksFor(end);
  while (static_cast<int64_t>(chunks_.size()) < need) {
    chunks_.emplace_back(n_full_ > 0 ? new uint8_t[chunk_bytes()] : nullptr);
    window_blocks_.emplace_back();
  }
  if (n_windowed_ > 0) {
    if (fresh || first < window_first_) {
      // Nothing held yet (a new or cleared cache, or one truncated to a point whose window was
      // freed and now restarted from 0): hold from the first chunk this step touches.
      window_first_ = first;
    } else {
      // Free the blocks no query from `begin` on (nor a rollback within the slack) reads.
      const int64_t keep =
          std::min(first, WindowFirstChunk(std::max<int64_t>(0, begin - shape_.window_slack)));
      for (int64_t c = window_first_; c < keep; ++c) window_blocks_[c].reset();
      window_first_ = std::max(window_first_, keep);
    }
    for (int64_t c = window_first_; c < static_cast<int64_t>(window_blocks_.size()); ++c) {
      if (!window_blocks_[c]) window_blocks_[c].reset(new uint8_t[window_block_bytes()]);
    }
  }
  if (track_attention_) attention_.resize(chunks_.size() * shape_.chunk_tokens, 0.0f);
  return Status::Ok();
}

void KvCache::Advance(int64_t n) {
  CHECK_LE(n_tokens_ + n, static_cast<int64_t>(chunks_.size()) * shape_.chunk_tokens);
  n_tokens_ += n;
}

int64_t KvCache::Truncate(int64_t n) {
  CHECK_GE(n, 0);
  if (n >= n_tokens_) return n;
  // A token at position n reads the windowed layers' K/V from WindowFirstChunk(n) on.
  if (n_windowed_ > 0 && n > 0 && WindowFirstChunk(n) < window_first_) n = 0;
  // The forgotten positions' attention sums belong to tokens that are gone; the next token
  // written at such a position starts from zero, as a position never used would.
  if (n < static_cast<int64_t>(attention_.size())) {
    std::fill(attention_.begin() + n, attention_.end(), 0.0f);
  }
  n_tokens_ = n;
  return n;
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
  const int64_t plane = plane_bytes();
  for (int32_t c = 0; c < v.n_chunks; ++c) {
    for (int32_t l = 0; l < v.n_layer; ++l) {
      const bool windowed = shape_.IsWindowed(l);
      uint8_t* base = windowed ? window_blocks_[c].get() : chunks_[c].get();
      const int32_t n_group = windowed ? n_windowed_ : n_full_;
      const size_t i = static_cast<size_t>(l) * v.n_chunks + c;
      v.k_chunks[i] = base == nullptr ? nullptr : base + slot_[l] * plane;
      v.v_chunks[i] = base == nullptr ? nullptr : base + (n_group + slot_[l]) * plane;
    }
  }
  return v;
}

int64_t KvCache::window_tail_bytes(int64_t n_tokens) const {
  if (n_windowed_ == 0 || n_tokens == 0) return 0;
  return (ChunksFor(n_tokens) - WindowFirstChunk(n_tokens)) * window_block_bytes();
}

std::vector<uint8_t> KvCache::ExportWindowTail() const {
  std::vector<uint8_t> tail(window_tail_bytes(n_tokens_));
  if (tail.empty()) return tail;
  const int64_t first = WindowFirstChunk(n_tokens_), bytes = window_block_bytes();
  CHECK_GE(first, window_first_);
  for (int64_t c = first; c < ChunksFor(n_tokens_); ++c) {
    std::memcpy(tail.data() + (c - first) * bytes, window_blocks_[c].get(), bytes);
  }
  return tail;
}

Status KvCache::ImportWindowTail(int64_t n_tokens, std::span<const uint8_t> tail) {
  if (static_cast<int64_t>(tail.size()) != window_tail_bytes(n_tokens)) {
    return InvalidArgumentError("sliding-window KV of " + std::to_string(tail.size()) +
                                " bytes does not fit a context of " + std::to_string(n_tokens) +
                                " tokens (" + std::to_string(window_tail_bytes(n_tokens)) +
                                " expected)");
  }
  if (tail.empty()) return Status::Ok();
  const int64_t first = WindowFirstChunk(n_tokens), bytes = window_block_bytes();
  CHECK_GE(static_cast<int64_t>(chunks_.size()), ChunksFor(n_tokens));
  CHECK_GE(first, window_first_);
  for (int64_t c = first; c < ChunksFor(n_tokens); ++c) {
    std::memcpy(window_blocks_[c].get(), tail.data() + (c - first) * bytes, bytes);
  }
  return Status::Ok();
}

void KvCache::Clear() {
  chunks_.clear();
  chunks_.shrink_to_fit();
  window_blocks_.clear();
  window_blocks_.shrink_to_fit();
  window_first_ = 0;
  attention_.clear();
  attention_.shrink_to_fit();
  n_tokens_ = 0;
}

int64_t KvCache::allocated_bytes() const {
  int64_t blocks = 0;
  for (const auto& b : window_blocks_) blocks += b ? 1 : 0;
  return static_cast<int64_t>(chunks_.size()) * chunk_bytes() + blocks * window_block_bytes();
}

}  // namespace odlm
