// kernels/interleave.h — weight matrices repacked 8 rows at a time for the decode kernels.
//
// Row-major GGUF storage makes a one-token product (decode) read one row's blocks, reduce them
// to one number and start again: the dot product ends in a horizontal sum per row, and each row
// is a separate memory stream. The interleaved layout puts block b of 8 consecutive rows side by
// side, so one 32-byte load holds 4 weights of each of the 8 rows, a broadcast activation word
// multiplies all of them, and the 8 rows' sums sit in the 8 lanes of one register: no
// horizontal sums, one sequential stream per 8 rows (llama.cpp repacks Q4_0 the same way at load).
//
// Layouts, for the types CanInterleave accepts. Group g holds rows 8g … 8g+7 and starts at byte
// g · InterleavedGroupBytes(type, cols); within it the groups' blocks follow each other, block b
// (the same weights of each of the 8 rows) at b · its group-block size:
//  Q4_0, Q8_0 (32 weights; q = 16 or 32 quant bytes; 16 + 8q bytes, the 8 rows' own size):
//   [0, 16)      the 8 rows' f16 scales, row order;
//   [16, 16+8q)  word w (4 bytes) of row i at 16 + 32·w + 4·i, for w < q/4: the row's quant
//                bytes 4w … 4w+3 unchanged (Q4_0: low nibbles weights 4w…, high nibbles 4w+16…).
//  Q4_K (256 weights; 1184 bytes, 32 more than the 8 rows' 1152: the scales are unpacked):
//   [0, 16) the 8 d, [16, 32) the 8 dmin (f16, row order);
//   [32, 96) sub-block j's 6-bit scale of row i at 32 + 8·j + i (one byte each);
//   [96, 160) the mins likewise at 96 + 8·j + i;
//   [160, 1184) word w (4 bytes, w < 32) of row i at 160 + 32·w + 4·i: the row's qs bytes
//                4w … 4w+3 (word w = 8c + v: low nibbles sub-block 2c, high nibbles 2c + 1).
//  Q6_K (256 weights; 1680 bytes, the 8 rows' own size):
//   [0, 16) the 8 d (f16, row order);
//   [16, 144) sub-block j's signed scale of row i at 16 + 8·j + i (j < 16);
//   [144, 1168) ql word w (w < 32) of row i at 144 + 32·w + 4·i (the row's ql bytes 4w … 4w+3);
//   [1168, 1680) qh word w (w < 16) of row i at 1168 + 32·w + 4·i.
// MatMul uses the copy when WeightMatrix::interleaved is set and the CPU's variant has a kernel
// for it (InterleavedLayoutPays); results equal the row-major product's up to f32 summation order
// (tests: kernels/interleave_test.cc, matmul_conformance_test.cc).
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace odlm::kernels {

inline constexpr int kInterleaveRows = 8;
inline constexpr int kQ4KGroupBlockBytes = 1184;
inline constexpr int kQ6KGroupBlockBytes = 1680;

// Bytes of one 8-row group of a `cols`-wide matrix in the interleaved layout of `type`.
int64_t InterleavedGroupBytes(DType type, int64_t cols);

// True if `w` has a type with an interleaved layout (Q4_0, Q8_0, Q4_K, Q6_K), whole groups of 8
// rows and contiguous rows.
bool CanInterleave(const WeightMatrix& w);

// True when MatMul on this CPU has a kernel for `type`'s interleaved layout (repacking pays).
bool InterleavedLayoutPays(DType type);

// Bytes of w's interleaved copy (rows / 8 groups). Requires CanInterleave(w).
int64_t InterleavedBytes(const WeightMatrix& w);

// Writes w's interleaved copy to `out` (InterleavedBytes(w) bytes, not overlapping w). The pool
// (may be nullptr) splits the groups. Requires CanInterleave(w).
void InterleaveRows(const WeightMatrix& w, uint8_t* out, ThreadPool* pool);

// The inverse: the row-major matrix (rows · RowBytes(type, cols) bytes) from an interleaved copy.
void DeinterleaveRows(DType type, const uint8_t* in, int64_t rows, int64_t cols, uint8_t* out);

}  // namespace odlm::kernels
