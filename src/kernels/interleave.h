// kernels/interleave.h — weight matrices repacked 8 rows at a time for the decode kernels.
//
// Row-major GGUF storage makes a one-token product (decode) read one row's blocks, reduce them
// to one number and start again: the dot product ends in a horizontal sum per row, and each row
// is a separate memory stream. The interleaved layout puts block b of 8 consecutive rows side by
// side, so one 32-byte load holds 4 weights of each of the 8 rows, a broadcast activation word
// multiplies all of them, and the 8 rows' sums sit in the 8 lanes of one register: no
// horizontal sums, one sequential stream per 8 rows (llama.cpp repacks Q4_0 the same way at load).
//
// Layout, for the types CanInterleave accepts (Q4_0, Q8_0). Group g holds rows 8g … 8g+7 and
// starts at byte g · 8 · row_bytes, so a row r that is a multiple of 8 starts where it did in the
// row-major matrix (row slices of either layout share their offsets). Within a group, block b
// (32 weights of each row) is 16 + 8·q bytes, q the block's quant bytes (16 for Q4_0, 32 for
// Q8_0):
//   [0, 16)      the 8 rows' f16 scales, row order;
//   [16, 16+8q)  word w (4 bytes) of row i at 16 + 32·w + 4·i, for w < q/4: the row's quant
//                bytes 4w … 4w+3 unchanged (Q4_0: low nibbles weights 4w…, high nibbles 4w+16…).
// The copy has exactly the original's size. MatMul uses it when WeightMatrix::interleaved is set
// and the CPU's variant has a kernel for it (InterleavedLayoutPays); results equal the row-major
// product's up to f32 summation order (tests: kernels/interleave_test.cc).
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace odlm::kernels {

inline constexpr int kInterleaveRows = 8;

// True if `w` has a type with an interleaved layout, whole groups of 8 rows and contiguous rows.
bool CanInterleave(const WeightMatrix& w);

// True when MatMul on this CPU has a kernel for `type`'s interleaved layout (repacking pays).
bool InterleavedLayoutPays(DType type);

// Bytes of w's interleaved copy (rows · row_bytes). Requires CanInterleave(w).
int64_t InterleavedBytes(const WeightMatrix& w);

// Writes w's interleaved copy to `out` (InterleavedBytes(w) bytes, not overlapping w). The pool
// (may be nullptr) splits the groups. Requires CanInterleave(w).
void InterleaveRows(const WeightMatrix& w, uint8_t* out, ThreadPool* pool);

// The inverse: the row-major matrix (rows · RowBytes(type, cols) bytes) from an interleaved copy.
void DeinterleaveRows(DType type, const uint8_t* in, int64_t rows, int64_t cols, uint8_t* out);

}  // namespace odlm::kernels
