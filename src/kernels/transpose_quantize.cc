// kernels/transpose_quantize.cc — Wᵀ in a quantized type, 32 (one block) source rows at a time.
#include "kernels/transpose_quantize.h"

#include "base/check.h"
#include "kernels/quant.h"

namespace odlm::kernels {

bool CanTransposeQuantize(const WeightMatrix& w, DType type) {
  const int64_t block = GetDTypeInfo(type).block_size;
  return CanDequantize(w.type) && HasReferenceQuantizer(type) && w.rows % block == 0;
}

WeightMatrix TransposeQuantize(const WeightMatrix& w, DType type, std::vector<uint8_t>* storage,
                               ThreadPool* pool) {
  CHECK(CanTransposeQuantize(w, type));
  const int64_t block = GetDTypeInfo(type).block_size;
  const int64_t out_rows = w.cols, out_cols = w.rows;
  const int64_t out_row_bytes = RowBytes(type, out_cols);
  const int64_t block_bytes = RowBytes(type, block);
  storage->assign(static_cast<size_t>(out_rows * out_row_bytes), 0);
  uint8_t* out = storage->data();
  const int64_t n_groups = w.rows / block;  // groups of `block` source rows = one block per out row
  auto run = [&](int, int64_t g0, int64_t g1) {
    std::vector<float> rows(static_cast<size_t>(block * w.cols));  // [block, cols]
    std::vector<float> column(static_cast<size_t>(block));
    for (int64_t g = g0; g < g1; ++g) {
      for (int64_t r = 0; r < block; ++r) {
        DequantizeRow(w.type, static_cast<const uint8_t*>(w.data) + (g * block + r) * w.row_bytes,
                      &rows[r * w.cols], w.cols);
      }
      for (int64_t c = 0; c < w.cols; ++c) {
        for (int64_t r = 0; r < block; ++r) column[r] = rows[r * w.cols + c];
        QuantizeRow(type, column.data(), out + c * out_row_bytes + g * block_bytes, block);
      }
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(n_groups, run);
  } else {
    run(0, 0, n_groups);
  }
  return WeightMatrix{type, out, out_rows, out_cols, out_row_bytes};
}

}  // namespace odlm::kernels
