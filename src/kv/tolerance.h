// kv/tolerance.h — compression tolerance of KV chunks and the choice of each chunk's precision.
//
// A chunk's importance is the mean attention its tokens receive: the softmax weight summed over
// layers, heads and querying tokens (tensor/kv_view.h's attention_received), divided by how many
// (layer, head, query) triples looked at each token, averaged over the chunk's tokens. Heavily
// attended chunks tolerate compression least and stay precise.
//
// ChooseKvLevels ranks chunks by importance and picks two thresholds on that ranking — the top n8
// stay 8-bit, the next n4 go 4-bit, the rest 2-bit — so that the total compressed size is at most
// `ratio` × (size with every chunk 8-bit), minimizing the attention-weighted quantization step
//   Σ importance_i · 1 / (2^bits_i − 1)
// (the step of a b-bit code relative to its group's range). Exhaustive over (n8, n4): O(n²) with
// n = chunks of one context (≤ a few hundred). Pure function, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_quant.h"

namespace odlm {

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
