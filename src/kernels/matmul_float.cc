// kernels/matmul_float.cc — MatMulFloat / MatMulTransposed / AccumulateOuter: variant choice and
// the thread split.
//
// Threads split output elements only, never the contraction: each gets whole rectangles of the
// output (columns in multiples of the variant's panel, and of the block size for dx; when there
// are too few column panels for the pool, rows too). A variant computes every element of a
// rectangle by one fixed chain of f32 operations (kernels/matmul_float_ops.h), so the split that
// ParallelFor happens to hand out never changes a result.
#include "kernels/matmul_float.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kernels/matmul_float_ops.h"
#include "kernels/quant.h"
#include "platform/cpu_features.h"

namespace odlm::kernels {
namespace internal {
namespace {

// Below this many multiply-adds a call runs on the calling thread (waking the pool costs more).
constexpr int64_t kMinParallelWork = 1 << 16;

// The calling thread's scratch: at least n floats, 64-byte aligned (kept between calls).
float* Scratch(int64_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < static_cast<size_t>(n) + 16) buf.resize(static_cast<size_t>(n) + 16);
  float* s = buf.data();
  return s + (16 - (reinterpret_cast<uintptr_t>(s) / sizeof(float)) % 16) % 16;
}

// fn(m0, m1, n0, n1, scratch) over rectangles covering [0, m) × [0, n). Column cuts are multiples
// of n_unit, row cuts multiples of m_unit; `work` is the call's multiply-add count.
template <typename Fn>
void ForTiles(const MatMulFloatOps& ops, ThreadPool* pool, int64_t m, int64_t n, int64_t n_unit,
              int64_t m_unit, int64_t work, const Fn& fn) {
  if (m <= 0 || n <= 0) return;
  auto run = [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    fn(m0, m1, n0, n1, Scratch(ops.scratch_floats));
  };
  const int threads = pool != nullptr ? pool->num_threads() : 1;
  if (threads == 1 || work < kMinParallelWork) {
    run(0, m, 0, n);
    return;
  }
  const int64_t n_units = (n + n_unit - 1) / n_unit;
  if (n_units >= 2 * threads || m <= m_unit) {
    pool->ParallelFor(n_units, [&](int, int64_t u0, int64_t u1) {
      run(0, m, u0 * n_unit, std::min(u1 * n_unit, n));
    });
    return;
  }
  // Few column panels (a LoRA matrix of rank 8, say): cut the rows too.
  const int64_t m_units = (m + m_unit - 1) / m_unit;
  pool->ParallelFor(m_units * n_units, [&](int, int64_t b, int64_t e) {
    while (b < e) {
      const int64_t mu = b / n_units, nu0 = b % n_units;
      const int64_t nu1 = std::min(n_units, nu0 + (e - b));  // stay within this row of tiles
      run(mu * m_unit, std::min((mu + 1) * m_unit, m), nu0 * n_unit, std::min(nu1 * n_unit, n));
      b += nu1 - nu0;
    }
  });
}

const MatMulFloatOps& SelectedOps() {
  static const MatMulFloatOps* ops = [] {
    const MatMulFloatOps* all[3];
    const int n = RunnableFloatOps(all);
    return all[n - 1];
  }();
  return *ops;
}

}  // namespace

int RunnableFloatOps(const MatMulFloatOps* out[3]) {
  int n = 0;
  out[n++] = &RefFloatOps();
  const CpuFeatures& f = GetCpuFeatures();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  if (avx2 && Avx2FloatOps() != nullptr) out[n++] = Avx2FloatOps();
  if (avx2 && f.avx512f && Avx512FloatOps() != nullptr) out[n++] = Avx512FloatOps();
  return n;
}

void MatMulFloatWithOps(const MatMulFloatOps& ops, const WeightMatrix& w, const float* x,
                        int64_t n_tokens, float* y, ThreadPool* pool) {
  CHECK(CanDequantize(w.type)) << "MatMulFloat cannot dequantize " << DTypeName(w.type);
  CHECK_GE(n_tokens, 0);
  CHECK_GE(w.rows, 0);
  CHECK_GE(w.cols, 0);
  CHECK_GE(w.row_bytes, RowBytes(w.type, w.cols)) << "weight rows overlap";
  if (n_tokens == 0 || w.rows == 0) return;
  CHECK(w.data != nullptr && x != nullptr && y != nullptr);
  ForTiles(ops, pool, n_tokens, w.rows, ops.panel, ops.row_tile, n_tokens * w.rows * w.cols,
           [&](int64_t t0, int64_t t1, int64_t r0, int64_t r1, float* scratch) {
             ops.forward(w, x, y, t0, t1, r0, r1, scratch);
           });
}

void MatMulTransposedWithOps(const MatMulFloatOps& ops, const WeightMatrix& w, const float* dy,
                             int64_t n_tokens, float* dx, bool accumulate, ThreadPool* pool) {
  CHECK(CanDequantize(w.type)) << "MatMulTransposed cannot dequantize " << DTypeName(w.type);
  CHECK_GE(n_tokens, 0);
  CHECK_GE(w.rows, 0);
  CHECK_GE(w.cols, 0);
  CHECK_GE(w.row_bytes, RowBytes(w.type, w.cols)) << "weight rows overlap";
  if (n_tokens == 0 || w.cols == 0) return;
  CHECK(dx != nullptr && (w.rows == 0 || (w.data != nullptr && dy != nullptr)));
  // Column cuts land on block boundaries so a thread dequantizes whole blocks (powers of two).
  const int64_t unit = std::max(ops.panel, GetDTypeInfo(w.type).block_size);
  ForTiles(ops, pool, n_tokens, w.cols, unit, ops.row_tile,
           n_tokens * std::max<int64_t>(w.rows, 1) * w.cols,
           [&](int64_t t0, int64_t t1, int64_t c0, int64_t c1, float* scratch) {
             ops.transposed(w, dy, dx, accumulate, t0, t1, c0, c1, scratch);
           });
}

void AccumulateOuterWithOps(const MatMulFloatOps& ops, const float* dy, int64_t n_out,
                            const float* x, int64_t n_in, int64_t n_tokens, float* dw,
                            ThreadPool* pool) {
  CHECK_GE(n_out, 0);
  CHECK_GE(n_in, 0);
  CHECK_GE(n_tokens, 0);
  if (n_out == 0 || n_in == 0 || n_tokens == 0) return;
  CHECK(dy != nullptr && x != nullptr && dw != nullptr);
  ForTiles(ops, pool, n_out, n_in, ops.panel, ops.row_tile, n_out * n_in * n_tokens,
           [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1, float* scratch) {
             ops.outer(dy, n_out, x, n_in, n_tokens, dw, o0, o1, i0, i1, scratch);
           });
}

}  // namespace internal

void MatMulFloat(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool* pool) {
  internal::MatMulFloatWithOps(internal::SelectedOps(), w, x, n_tokens, y, pool);
}

void MatMulTransposed(const WeightMatrix& w, const float* dy, int64_t n_tokens, float* dx,
                      bool accumulate, ThreadPool* pool) {
  internal::MatMulTransposedWithOps(internal::SelectedOps(), w, dy, n_tokens, dx, accumulate, pool);
}

void AccumulateOuter(const float* dy, int64_t n_out, const float* x, int64_t n_in, int64_t n_tokens,
                     float* dw, ThreadPool* pool) {
  internal::AccumulateOuterWithOps(internal::SelectedOps(), dy, n_out, x, n_in, n_tokens, dw, pool);
}

std::string_view MatMulFloatVariant() { return internal::SelectedOps().variant; }

}  // namespace odlm::kernels
