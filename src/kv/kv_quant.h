// kv/kv_quant.h — compression of one KV chunk (all layers, K and V) at a chosen precision level.
//
// A working chunk is the layout KvCache hands the model: [2][n_layer][chunk_tokens, kv_dim] of F16
// or F32 (K planes first, then V). A compressed chunk is a flat byte string whose size depends only
// on the shape and the level (never on the values), so budgets can be planned before quantizing.
//
// Levels: kRaw keeps the working bytes verbatim (bit-exact, "compression off"); k8 / k4 / k2 store
// asymmetric group-wise codes (per group: f16 scale, f16 minimum, then `bits`-bit codes packed
// little-end first). Groups follow the statistics of each tensor: K has outlier *channels*, so K
// is grouped per channel over the chunk's tokens ([chunk_tokens] values of one channel); V is
// grouped per token over 32 consecutive channels. Rows past `n_valid` are ignored when quantizing
// and decode to zero.
//
// Thread-safety: pure functions. Cost: one pass over the chunk.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tensor/dtype.h"

namespace odlm {

enum class KvLevel : uint8_t { kRaw = 0, k8 = 8, k4 = 4, k2 = 2 };

std::string_view KvLevelName(KvLevel level);  // "raw", "8-bit", "4-bit", "2-bit"
int KvLevelBits(KvLevel level);               // 16/32 for raw is not meaningful: returns 0

struct KvChunkShape {
  int32_t n_layer = 0;
  int32_t kv_dim = 0;
  int32_t chunk_tokens = 16;
  DType type = DType::kF16;  // the working type: F16 or F32

  // Bytes of a working chunk (K and V, all layers).
  int64_t working_bytes() const;
  // Bytes of a compressed chunk at `level`.
  int64_t compressed_bytes(KvLevel level) const;
};

inline constexpr int32_t kKvValueGroup = 32;  // channels per V group

// Compresses the first `n_valid` rows of `working` ([2][n_layer][chunk_tokens, kv_dim]) into
// `out` (exactly compressed_bytes(level) bytes).
void CompressKvChunk(const KvChunkShape& shape, KvLevel level, const void* working, int32_t n_valid,
                     std::span<uint8_t> out);

// Inverse of CompressKvChunk: writes all chunk_tokens rows of `working` (rows past n_valid = 0).
void DecompressKvChunk(const KvChunkShape& shape, KvLevel level, std::span<const uint8_t> in,
                       int32_t n_valid, void* working);

}  // namespace odlm
