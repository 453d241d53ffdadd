// kv/tolerance.h — compression tolerance of KV chunks and the choice of each chunk's precision.
//
// A chunk's importance is the mean attention its tokens receive: the softmax weight summed over
// layers, heads and querying tokens (tensor/kv_view.h's attention_received), divided by how many
// (layer, head, query) triples looked at each token, averaged over the chunk's tokens. Heavily
// attended chunks tolerate compression least and stay precise.
//
// ChooseKvLevels ranks chunks by importance and picks two thresholds on that ranking — the top n8
// stay 8-bit, the next n4 go 4-bit, the rest 2-bit — so that the total compressed size is at most
// `ratio` × (size with every chunk 8-bit), minimizing the attention-weighted expected error
//   Σ importance_i · KvLevelError(level_i)
// where a level's error is that of its key and value codes, step(b) = 1 / (2^b − 1) of a group's
// range, keys weighted kKvKeyErrorWeight× values: on the trained default model 4-bit keys move
// the next-token distribution ~8× more than 4-bit values (KL 0.014 vs 0.0018 with every chunk of
// a 384-token history at that level; the bench-contexts per-level table measures it on any model).
// Exhaustive over (n8, n4): O(n²) with n = chunks of one context (≤ a few hundred). Pure function,
// thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_quant.h"

namespace odlm {

inline constexpr double kKvKeyErrorWeight = 8.0;

// Expected error of a chunk at `level` relative to its groups' ranges (0 for raw).
double KvLevelError(KvLevel level);

// Importance of a chunk from per-token sums and counts (tokens with count 0 contribute 0).
double ChunkImportance(std::span<const float> received_sum, std::span<const float> received_count);

// Levels for chunks with `importance` (any order; ties broken by position, later chunk first so
// that a context's recent tokens keep precision) under `ratio` of the all-8-bit size. ratio ≥ 1
// gives all 8-bit; a ratio below the all-2-bit size gives all 2-bit. Chunks marked in `keep`
// (empty: none; else one flag per chunk) stay 8-bit whatever their importance — the attention
// sinks at the start of a context and its most recent tokens — and count against the ratio; if
// they alone exceed it, they stay 8-bit and every other chunk goes 2-bit.
std::vector<KvLevel> ChooseKvLevels(std::span<const double> importance, double ratio,
                                    const KvChunkShape& shape, std::span<const bool> keep = {});

}  // namespace odlm
