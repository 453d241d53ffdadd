// kernels/interleave.cc — the 8-row interleaved layouts (see interleave.h): repacking both ways.
#include "kernels/interleave.h"

#include <cstring>

#include "base/check.h"
#include "kernels/matmul_ops.h"
#include "kernels/ref/k_codes.h"
#include "kernels/ref/ref_kernels.h"

namespace odlm::kernels {
namespace {

// One stored block and the 8 rows' blocks side by side in the interleaved layout.
struct Layout {
  int block_weights = 0;  // 0: the type has no interleaved layout
  int block_bytes = 0;
  int group_block_bytes = 0;
};

Layout LayoutOf(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return {32, 18, 16 + 8 * 16};
    case DType::kQ8_0:
      return {32, 34, 16 + 8 * 32};
    case DType::kQ4_K:
      return {256, 144, kQ4KGroupBlockBytes};
    case DType::kQ6_K:
      return {256, 210, kQ6KGroupBlockBytes};
    default:
      return {};
  }
}

// Q4_0 / Q8_0: the scale, then the quant bytes in 4-byte words (q quant bytes per block).
void PackLegacy(int q, const uint8_t* const rows[8], uint8_t* g) {
  for (int i = 0; i < kInterleaveRows; ++i) {
    std::memcpy(g + 2 * i, rows[i], 2);
    for (int w = 0; w < q / 4; ++w) std::memcpy(g + 16 + 32 * w + 4 * i, rows[i] + 2 + 4 * w, 4);
  }
}
void UnpackLegacy(int q, const uint8_t* g, uint8_t* const rows[8]) {
  for (int i = 0; i < kInterleaveRows; ++i) {
    std::memcpy(rows[i], g + 2 * i, 2);
    for (int w = 0; w < q / 4; ++w) std::memcpy(rows[i] + 2 + 4 * w, g + 16 + 32 * w + 4 * i, 4);
  }
}

// Q4_K: d, dmin, the 6-bit scales and mins one byte each, then the quant words (interleave.h).
void PackQ4K(const uint8_t* const rows[8], uint8_t* g) {
  for (int i = 0; i < kInterleaveRows; ++i) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(rows[i]);
    std::memcpy(g + 2 * i, &b->d, 2);
    std::memcpy(g + 16 + 2 * i, &b->dmin, 2);
    for (int j = 0; j < 8; ++j) {
      int sc = 0, m = 0;
      ref::UnpackScaleMinK4(b->scales, j, &sc, &m);
      g[32 + 8 * j + i] = static_cast<uint8_t>(sc);
      g[96 + 8 * j + i] = static_cast<uint8_t>(m);
    }
    for (int w = 0; w < 32; ++w) std::memcpy(g + 160 + 32 * w + 4 * i, b->qs + 4 * w, 4);
  }
}
void UnpackQ4K(const uint8_t* g, uint8_t* const rows[8]) {
  for (int i = 0; i < kInterleaveRows; ++i) {
    auto* b = reinterpret_cast<BlockQ4_K*>(rows[i]);
    std::memcpy(&b->d, g + 2 * i, 2);
    std::memcpy(&b->dmin, g + 16 + 2 * i, 2);
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = g[32 + 8 * j + i];
      m[j] = g[96 + 8 * j + i];
    }
    ref::PackScaleMinK4(sc, m, b->scales);
    for (int w = 0; w < 32; ++w) std::memcpy(b->qs + 4 * w, g + 160 + 32 * w + 4 * i, 4);
  }
}

// Q6_K: d, the signed scales one byte each, then the ql and qh words (interleave.h).
void PackQ6K(const uint8_t* const rows[8], uint8_t* g) {
  for (int i = 0; i < kInterleaveRows; ++i) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(rows[i]);
    std::memcpy(g + 2 * i, &b->d, 2);
    for (int j = 0; j < 16; ++j) std::memcpy(g + 16 + 8 * j + i, &b->scales[j], 1);
    for (int w = 0; w < 32; ++w) std::memcpy(g + 144 + 32 * w + 4 * i, b->ql + 4 * w, 4);
    for (int w = 0; w < 16; ++w) std::memcpy(g + 1168 + 32 * w + 4 * i, b->qh + 4 * w, 4);
  }
}
void UnpackQ6K(const uint8_t* g, uint8_t* const rows[8]) {
  for (int i = 0; i < kInterleaveRows; ++i) {
    auto* b = reinterpret_cast<BlockQ6_K*>(rows[i]);
    std::memcpy(&b->d, g + 2 * i, 2);
    for (int j = 0; j < 16; ++j) std::memcpy(&b->scales[j], g + 16 + 8 * j + i, 1);
    for (int w = 0; w < 32; ++w) std::memcpy(b->ql + 4 * w, g + 144 + 32 * w + 4 * i, 4);
    for (int w = 0; w < 16; ++w) std::memcpy(b->qh + 4 * w, g + 1168 + 32 * w + 4 * i, 4);
  }
}

// Repacks group g's blocks from `in` (row-major rows of row_bytes) to `out` (interleaved), or
// back when `to_rows`.
void RepackGroup(DType type, int64_t cols, int64_t row_bytes, const uint8_t* in, uint8_t* out,
                 bool to_rows) {
  const Layout l = LayoutOf(type);
  const int64_t n_blocks = cols / l.block_weights;
  for (int64_t b = 0; b < n_blocks; ++b) {
    uint8_t* rows[kInterleaveRows];
    const uint8_t* crows[kInterleaveRows];
    for (int i = 0; i < kInterleaveRows; ++i) {
      crows[i] = in + i * row_bytes + b * l.block_bytes;
      rows[i] = out + i * row_bytes + b * l.block_bytes;
    }
    const int64_t gb = b * l.group_block_bytes;
    if (type == DType::kQ4_K) {
      to_rows ? UnpackQ4K(in + gb, rows) : PackQ4K(crows, out + gb);
    } else if (type == DType::kQ6_K) {
      to_rows ? UnpackQ6K(in + gb, rows) : PackQ6K(crows, out + gb);
    } else {
      to_rows ? UnpackLegacy(l.block_bytes - 2, in + gb, rows)
              : PackLegacy(l.block_bytes - 2, crows, out + gb);
    }
  }
}

}  // namespace

int64_t InterleavedGroupBytes(DType type, int64_t cols) {
  const Layout l = LayoutOf(type);
  CHECK(l.block_weights > 0 && cols % l.block_weights == 0);
  return cols / l.block_weights * l.group_block_bytes;
}

bool CanInterleave(const WeightMatrix& w) {
  return LayoutOf(w.type).block_weights > 0 && w.rows > 0 && w.rows % kInterleaveRows == 0 &&
         w.row_bytes == RowBytes(w.type, w.cols);
}

bool InterleavedLayoutPays(DType type) {
  const internal::MatMulOps* ops = internal::SelectedOpsFor(type);
  return LayoutOf(type).block_weights > 0 && ops != nullptr && ops->gemm_x8 != nullptr;
}

int64_t InterleavedBytes(const WeightMatrix& w) {
  CHECK(CanInterleave(w));
  return w.rows / kInterleaveRows * InterleavedGroupBytes(w.type, w.cols);
}

void InterleaveRows(const WeightMatrix& w, uint8_t* out, ThreadPool* pool) {
  CHECK(CanInterleave(w));
  const int64_t group_bytes = InterleavedGroupBytes(w.type, w.cols);
  const auto* in = static_cast<const uint8_t*>(w.data);
  auto run = [&](int, int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      RepackGroup(w.type, w.cols, w.row_bytes, in + g * kInterleaveRows * w.row_bytes,
                  out + g * group_bytes, /*to_rows=*/false);
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
  CHECK(LayoutOf(type).block_weights > 0 && rows % kInterleaveRows == 0);
  const int64_t row_bytes = RowBytes(type, cols), group_bytes = InterleavedGroupBytes(type, cols);
  for (int64_t g = 0; g < rows / kInterleaveRows; ++g) {
    RepackGroup(type, cols, row_bytes, in + g * group_bytes, out + g * kInterleaveRows * row_bytes,
                /*to_rows=*/true);
  }
}

}  // namespace odlm::kernels
