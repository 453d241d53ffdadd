// kv/lctru.h — LCTRU eviction order: Least Compression-Tolerant, then least Recently Used.
//
// Chunks that tolerate compression least are stored at the highest precision and so take the
// most memory per token (raw, then 8-bit, then 4-bit, then 2-bit); dropping them first frees the
// most memory per eviction and keeps the cheap, compressed majority resident. Within one level the
// least recently used chunk goes first. Pinned chunks (of a context being served) never appear.
// Pure function, thread-safe. Cost: O(n log n).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_quant.h"

namespace odlm {

struct EvictionCandidate {
  KvLevel level = KvLevel::k8;
  uint64_t last_use = 0;  // a logical clock: larger = more recent
  bool pinned = false;
};

// Indices into `candidates` of the unpinned ones, in eviction order.
std::vector<size_t> LctruOrder(std::span<const EvictionCandidate> candidates);

}  // namespace odlm
