// kernels/interleave.cc — the 8-row interleaved layout (see interleave.h): repacking both ways.
#include "kernels/interleave.h"

#include <cstring>

#include "base/check.h"
#include "kernels/matmul_ops.h"

namespace odlm::kernels {
namespace {

// Quant bytes per 32-weight block; 0 for types without an interleaved layout.
int QuantBytes(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return 16;
    case DType::kQ8_0:
      return 32;
    default:
      return 0;
  }
}

// Calls piece(row_offset, group_offset, bytes) for every piece of one group: row_offset from the
// group's first row in the row-major matrix, group_offset within the group's interleaved bytes.
template <typename Piece>
void ForEachPiece(int q, int64_t n_blocks, int64_t row_bytes, Piece piece) {
  const int64_t block = 2 + q, group_block = 16 + kInterleaveRows * q;
  for (int64_t b = 0; b < n_blocks; ++b) {
    for (int i = 0; i < kInterleaveRows; ++i) {
      const int64_t row = i * row_bytes + b * block, group = b * group_block;
      piece(row, group + 2 * i, 2);  // the scale
      for (int w = 0; w < q / 4; ++w) piece(row + 2 + 4 * w, group + 16 + 32 * w + 4 * i, 4);
    }
  }
}

}  // namespace

bool CanInterleave(const WeightMatrix& w) {
  return QuantBytes(w.type) > 0 && w.rows > 0 && w.rows % kInterleaveRows == 0 &&
         w.row_bytes == RowBytes(w.type, w.cols);
}

bool InterleavedLayoutPays(DType type) {
  const internal::MatMulOps* ops = internal::SelectedOpsFor(type);
  return QuantBytes(type) > 0 && ops != nullptr && ops->gemm_x8 != nullptr;
}

int64_t InterleavedBytes(const WeightMatrix& w) {
  CHECK(CanInterleave(w));
  return w.rows * w.row_bytes;
}

void InterleaveRows(const WeightMatrix& w, uint8_t* out, ThreadPool* pool) {
  CHECK(CanInterleave(w));
  const int q = QuantBytes(w.type);
  const int64_t n_blocks = w.cols / 32, group_bytes = kInterleaveRows * w.row_bytes;
  const auto* in = static_cast<const uint8_t*>(w.data);
  auto run = [&](int, int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const uint8_t* src = in + g * group_bytes;
      uint8_t* dst = out + g * group_bytes;
      ForEachPiece(q, n_blocks, w.row_bytes,
                   [&](int64_t ro, int64_t go, int n) { std::memcpy(dst + go, src + ro, n); });
    }
  };
  const int64_t n_groups = w.rows / kInterleaveRows;
  if (pool != nullptr) {
    pool->ParallelFor(n_groups, run);
  } else {
    run(0, 0, n_groups);
  }
}

void DeinterleaveRows(DType type, const uint8_t* in, int64_t rows, int64_t cols, uint8_t* out) {
  const int q = QuantBytes(type);
  CHECK(q > 0 && rows % kInterleaveRows == 0);
  const int64_t row_bytes = RowBytes(type, cols), group_bytes = kInterleaveRows * row_bytes;
  for (int64_t g = 0; g < rows / kInterleaveRows; ++g) {
    const uint8_t* src = in + g * group_bytes;
    uint8_t* dst = out + g * group_bytes;
    ForEachPiece(q, cols / 32, row_bytes,
                 [&](int64_t ro, int64_t go, int n) { std::memcpy(dst + ro, src + go, n); });
  }
}

}  // namespace odlm::kernels
