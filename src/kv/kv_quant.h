// kv/kv_quant.h — compression of one KV chunk (all layers, K and V) at a chosen precision level.
//
// A working chunk is the layout KvCache hands the model: [2][n_layer][chunk_tokens, kv_dim] of F16
// or F32 (K planes first, then V). A compressed chunk is a flat byte string whose size depends only
// on the shape and the level (never on the values), so budgets can be planned before quantizing.
//
// Levels: kRaw keeps the working bytes verbatim (bit-exact, "compression off"); k8 / k4 / k2 store
// asymmetric codes (value = min + scale·q) with these bits for K and V (KvLevelKeyBits /
// KvLevelValueBits):
//   k8: K 8, V 8;   k4: K 4, V 4;   k2: K 4, V 2
// Keys stay at 4 bits or more: a trained model's attention logits are q·k, and its next-token
// distribution moves ~10× more from 2-bit keys than from 2-bit values (docs/PERFORMANCE.md).
//
// Both planes are grouped per channel over the chunk's valid tokens (real keys have outlier
// *channels*, so a channel's own range is what keeps the others precise; values measured the same
// on the trained model). Within a channel a few *tokens* still stretch the range: below 8 bits the
// plane's values farthest from their channel's mean are kept apart as exact f16 "outliers"
// (dense-and-sparse, as in KVQuant), a fixed permille of the plane (KvLevelOutlierPermille), and
// the codes cover the rest.
//
// Per channel parameters take two bytes: the minimum as a u8 code on a plane-wide linear grid
// (min_base + min_step·m, rounded down so the range still covers the channel) and the scale as a
// u8 code on a log grid below the plane's largest (scale_top·2^(−s/16), ≤ 4.4% coarser than
// needed; s = 255 is a constant channel).
//
// Layout per layer (all layers' K and V in order: K0 V0 K1 V1 …), each plane:
//   header: min_base f16, min_step f16, scale_top f16, 2 zero bytes
//   min codes u8[kv_dim], scale codes u8[kv_dim]
//   outliers: position u16[n] (t·kv_dim + channel, ascending; 0xFFFF = unused), value f16[n]
//   chunk_tokens code rows
// A code row packs kv_dim codes in blocks of 32 channels; in a block of n channels with
// `per = 8 / bits` codes per byte, code i sits in byte i % ceil(n / per), bit slot i / ceil(n /
// per) (for a full 4-bit block: byte j holds channels j and j + 16), so a SIMD decoder unpacks a
// block with a few shifts and masks. Rows past `n_valid` are ignored when quantizing and decode to
// zero. Outliers need chunk_tokens·kv_dim < 65535; larger planes store none.
//
// Decoding has a portable path and an AVX2+F16C one picked at run time (same arithmetic: the
// float product and sum are not fused, so both give bit-identical results; the parameters and the
// outlier patches are shared code).
// Thread-safety: pure functions. Cost: one pass over the chunk each way, plus a partial sort of
// each plane's values when compressing below 8 bits.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tensor/dtype.h"

namespace odlm {

enum class KvLevel : uint8_t { kRaw = 0, k8 = 8, k4 = 4, k2 = 2 };

std::string_view KvLevelName(KvLevel level);  // "raw", "8-bit", "4-bit", "2-bit"
// The level's nominal precision, its ordering (8 > 4 > 2; raw: 0, it is not a code width).
int KvLevelBits(KvLevel level);
// Code bits of the K and V planes at `level` (0 for raw).
int KvLevelKeyBits(KvLevel level);
int KvLevelValueBits(KvLevel level);
// Exact f16 outliers kept per plane, in thousandths of the plane's values (0 for raw and 8-bit).
int KvLevelOutlierPermille(KvLevel level, bool value_plane);

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
