// kv/kv_quant.h — compression of one KV chunk (all layers, K and V) at a chosen precision level.
//
// A working chunk is the layout KvCache hands the model: [2][n_layer][chunk_tokens, kv_dim] of F16
// or F32 (K planes first, then V). A compressed chunk is a flat byte string whose size depends only
// on the shape and the level (never on the values), so budgets can be planned before quantizing.
//
// Levels: kRaw keeps the working bytes verbatim (bit-exact, "compression off"); k8 / k4 / k2 store
// asymmetric group-wise codes (per group an f16 scale and an f16 minimum; value = min + scale·q).
// 8-bit groups span their min-max range; 4- and 2-bit groups get the range of least squared error
// (narrowed ranges that clip outliers, and a least-squares refit), chosen when compressing.
// Groups follow the statistics of each tensor: K has outlier *channels*, so K is grouped per
// channel over the chunk's tokens; V is grouped per token over 32 consecutive channels.
//
// Layout per layer (all layers' K and V in order: K0 V0 K1 V1 …), row-major so that decoding
// streams through the working planes:
//   K: scale[kv_dim] f16, min[kv_dim] f16, then chunk_tokens code rows
//   V: chunk_tokens rows of { scale[n_groups] f16, min[n_groups] f16, codes }
// A code row packs kv_dim codes in blocks of 32 channels; in a block of n channels with
// `per = 8 / bits` codes per byte, code i sits in byte i % ceil(n / per), bit slot i / ceil(n /
// per) (for a full 4-bit block: byte j holds channels j and j + 16), so a SIMD decoder unpacks a
// block with a few shifts and masks. Rows past `n_valid` are ignored when quantizing and decode to
// zero.
//
// Decoding has a portable path and an AVX2+F16C one picked at run time (same arithmetic: the
// float product and sum are not fused, so both give bit-identical results).
// Thread-safety: pure functions. Cost: decompress one pass over the chunk; compress ~30 passes
// at 4 and 2 bits (the range search), one at 8.
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
// Uses the fastest decoder this CPU has.
void DecompressKvChunk(const KvChunkShape& shape, KvLevel level, std::span<const uint8_t> in,
                       int32_t n_valid, void* working);
// The portable decoder alone (tests compare the SIMD one against it).
void DecompressKvChunkPortable(const KvChunkShape& shape, KvLevel level,
                               std::span<const uint8_t> in, int32_t n_valid, void* working);

}  // namespace odlm
