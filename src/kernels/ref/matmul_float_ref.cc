// kernels/ref/matmul_float_ref.cc — the scalar reference of MatMulFloat / MatMulTransposed /
// AccumulateOuter: the oracle the SIMD variants are tested against, and what non-x86 builds run.
//
// Each output element is one f32 chain over the contraction index in ascending order (multiply,
// then add), starting at 0 or at the old value, so the result does not depend on the rectangle a
// thread is given. Weight rows are dequantized exactly (DequantizeRow) before use.
#include <algorithm>
#include <vector>

#include "kernels/matmul_float_ops.h"
#include "kernels/quant.h"

namespace odlm::kernels::internal {
namespace {

const uint8_t* RowPtr(const WeightMatrix& w, int64_t r) {
  return static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
}

void Forward(const WeightMatrix& w, const float* x, float* y, int64_t t0, int64_t t1, int64_t r0,
             int64_t r1, float*) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(w.cols));
  for (int64_t r = r0; r < r1; ++r) {
    DequantizeRow(w.type, RowPtr(w, r), row.data(), w.cols);
    for (int64_t t = t0; t < t1; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.0f;
      for (int64_t i = 0; i < w.cols; ++i) acc += row[i] * xt[i];
      y[t * w.rows + r] = acc;
    }
  }
}

void Transposed(const WeightMatrix& w, const float* dy, float* dx, bool accumulate, int64_t t0,
                int64_t t1, int64_t c0, int64_t c1, float*) {
  if (!accumulate) {
    for (int64_t t = t0; t < t1; ++t) std::fill(dx + t * w.cols + c0, dx + t * w.cols + c1, 0.0f);
  }
  const DTypeInfo& info = GetDTypeInfo(w.type);
  const int64_t offset = c0 / info.block_size * info.type_size;
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(c1 - c0));
  for (int64_t o = 0; o < w.rows; ++o) {
    DequantizeRow(w.type, RowPtr(w, o) + offset, row.data(), c1 - c0);
    for (int64_t t = t0; t < t1; ++t) {
      const float g = dy[t * w.rows + o];
      float* dxt = dx + t * w.cols;
      for (int64_t i = c0; i < c1; ++i) dxt[i] += g * row[i - c0];
    }
  }
}

void Outer(const float* dy, int64_t n_out, const float* x, int64_t n_in, int64_t n_tokens,
           float* dw, int64_t o0, int64_t o1, int64_t i0, int64_t i1, float*) {
  for (int64_t o = o0; o < o1; ++o) {
    float* row = dw + o * n_in;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float g = dy[t * n_out + o];
      const float* xt = x + t * n_in;
      for (int64_t i = i0; i < i1; ++i) row[i] += g * xt[i];
    }
  }
}

}  // namespace

const MatMulFloatOps& RefFloatOps() {
  static constexpr MatMulFloatOps kOps{"ref",        Forward,         Transposed,          Outer,
                                       /*panel=*/16, /*row_tile=*/16, /*scratch_floats=*/0};
  return kOps;
}

}  // namespace odlm::kernels::internal
