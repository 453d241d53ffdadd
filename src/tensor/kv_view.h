// tensor/kv_view.h — the plain view of one sequence's KV cache that the model reads and writes.
//
// ARCHITECTURE rule 5: kv/ owns KV memory and hands the model pointers and strides; the model never
// knows about paging, compression or disk, and kv/ never knows about the model. This struct is the
// whole contract between them, so it lives below both.
//
// The cache is a list of chunks along the token axis. Token index t (== its RoPE position) lives in
// chunk t / chunk_tokens, row t % chunk_tokens. For layer l and chunk c, k_chunks[l * n_chunks + c]
// points at [chunk_tokens, kv_dim] elements of `type` (F32 or F16), rows contiguous; same for V.
// A contiguous cache is one chunk of `capacity` tokens. A sliding-window layer's pointer may be
// null for chunks wholly before its window (the cache freed them): the model reads such a layer
// only at positions (pos - window, pos] and checks the pointers it needs are set.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/dtype.h"

namespace odlm {

struct KvCacheView {
  DType type = DType::kF32;  // F32 or F16
  int32_t n_layer = 0;
  int32_t kv_dim = 0;           // n_head_kv * head_dim
  int32_t chunk_tokens = 0;     // rows per chunk
  int32_t n_chunks = 0;         // chunks per layer available to the model
  int32_t n_past = 0;           // tokens [0, n_past) hold valid K/V before this step
  std::vector<void*> k_chunks;  // [n_layer * n_chunks]
  std::vector<void*> v_chunks;  // [n_layer * n_chunks]
  // Optional (may be nullptr): attention each token position receives, accumulated by the model as
  // the sum over layers, heads and querying tokens of the softmax weight. [n_chunks * chunk_tokens]
  float* attention_received = nullptr;

  int64_t capacity() const { return static_cast<int64_t>(n_chunks) * chunk_tokens; }
  void* KRow(int32_t layer, int64_t t) const { return Row(k_chunks, layer, t); }
  void* VRow(int32_t layer, int64_t t) const { return Row(v_chunks, layer, t); }

 private:
  void* Row(const std::vector<void*>& chunks, int32_t layer, int64_t t) const {
    const int64_t c = t / chunk_tokens, r = t % chunk_tokens;
    const int64_t elem = type == DType::kF16 ? 2 : 4;
    return static_cast<char*>(chunks[static_cast<size_t>(layer) * n_chunks + c]) +
           r * kv_dim * elem;
  }
};

}  // namespace odlm
