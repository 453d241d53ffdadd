// kernels/matmul.cc — MatMul: activation quantization, variant choice and the thread split.
//
// Threads split the weight rows (each thread streams its own contiguous slice of the matrix, which
// is what a memory-bound decode wants); activations are quantized once, before the split, and
// shared read-only. Row slices are multiples of 16 so SIMD tiles stay full.
#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "kernels/interleave.h"
#include "kernels/matmul_ops.h"
#include "kernels/quant.h"
#include "kernels/ref/ref_kernels.h"
#include "platform/cpu_features.h"

namespace odlm::kernels {
namespace internal {
namespace {

template <float (*Dot)(int64_t, const void*, const void*)>
void RefGemm(int64_t n, const void* w, int64_t w_stride, const void* x, int64_t x_stride, float* y,
             int64_t y_stride, int64_t n_rows, int64_t n_tokens) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t t = 0; t < n_tokens; ++t) {
      y[t * y_stride + r] = Dot(n, wb + r * w_stride, xb + t * x_stride);
    }
  }
}

constexpr MatMulOps kRefOps[] = {
    {"ref", DType::kF32, RefGemm<ref::DotF32>},   {"ref", DType::kF32, RefGemm<ref::DotF16>},
    {"ref", DType::kF32, RefGemm<ref::DotBF16>},  {"ref", DType::kQ8_0, RefGemm<ref::DotQ4_0>},
    {"ref", DType::kQ8_1, RefGemm<ref::DotQ4_1>}, {"ref", DType::kQ8_0, RefGemm<ref::DotQ5_0>},
    {"ref", DType::kQ8_1, RefGemm<ref::DotQ5_1>}, {"ref", DType::kQ8_0, RefGemm<ref::DotQ8_0>},
    {"ref", DType::kQ8_K, RefGemm<ref::DotQ2_K>}, {"ref", DType::kQ8_K, RefGemm<ref::DotQ3_K>},
    {"ref", DType::kQ8_K, RefGemm<ref::DotQ4_K>}, {"ref", DType::kQ8_K, RefGemm<ref::DotQ5_K>},
    {"ref", DType::kQ8_K, RefGemm<ref::DotQ6_K>},
};
constexpr DType kRefTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                               DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                               DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

const MatMulOps* BestOps(DType type) {
  const MatMulOps* ops[3];
  const int n = RunnableOps(type, ops);
  return n > 0 ? ops[n - 1] : nullptr;
}

}  // namespace

const MatMulOps* SelectedOpsFor(DType type) {
  static const auto* table = [] {
    auto* t = new std::vector<std::pair<DType, const MatMulOps*>>();
    for (DType d : kRefTypes) t->emplace_back(d, BestOps(d));
    return t;
  }();
  for (const auto& [d, ops] : *table) {
    if (d == type) return ops;
  }
  return nullptr;
}

const MatMulOps* RefOps(DType type) {
  for (size_t i = 0; i < std::size(kRefTypes); ++i) {
    if (kRefTypes[i] == type) return &kRefOps[i];
  }
  return nullptr;
}

int RunnableOps(DType type, const MatMulOps* out[3]) {
  int n = 0;
  if (const MatMulOps* r = RefOps(type)) out[n++] = r;
  if (n == 0) return 0;
  const CpuFeatures& f = GetCpuFeatures();
  if (f.avx2 && f.fma && f.f16c) {
    if (const MatMulOps* o = Avx2Ops(type)) out[n++] = o;
  }
  if (f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni) {
    if (const MatMulOps* o = Avx512Ops(type)) out[n++] = o;
  }
  if (f.neon) {
    if (const MatMulOps* o = NeonOps(type)) out[n++] = o;
  }
  if (f.neon && f.dotprod) {
    if (const MatMulOps* o = NeonDotprodOps(type)) out[n++] = o;
  }
  return n;
}

namespace {

// Activations in a variant's format: [n_tokens] rows of `stride` bytes.
struct ActRows {
  const void* data;
  int64_t stride;
};

// Quantizes x ([n_tokens, cols] f32) once into `scratch` in ops.act_type (or passes f32 through).
ActRows QuantizeActivations(const MatMulOps& ops, const float* x, int64_t cols, int64_t n_tokens,
                            ThreadPool* pool, std::vector<uint8_t>* scratch) {
  if (ops.act_type == DType::kF32) return {x, cols * static_cast<int64_t>(sizeof(float))};
  const int64_t stride = RowBytes(ops.act_type, cols);
  scratch->resize(static_cast<size_t>(stride * n_tokens) + 64);
  uint8_t* buf = scratch->data();
  auto quantize = [&](int, int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      if (ops.quantize_act != nullptr) {
        ops.quantize_act(x + t * cols, buf + t * stride, cols);
      } else {
        QuantizeRow(ops.act_type, x + t * cols, buf + t * stride, cols);
      }
    }
  };
  if (pool != nullptr && n_tokens > 1) {
    pool->ParallelFor(n_tokens, quantize);
  } else {
    quantize(0, 0, n_tokens);
  }
  return {buf, stride};
}

// True when this call reads the matrix's interleaved copy (kernels/interleave.h).
bool UsesInterleaved(const MatMulOps& ops, const WeightMatrix& w) {
  return w.interleaved != nullptr && ops.gemm_x8 != nullptr;
}

// True when this call goes to the variant's packed GEMM rather than a row-streaming kernel.
bool UsesPacked(const MatMulOps& ops, const WeightMatrix& w, int64_t n_tokens) {
  return !UsesInterleaved(ops, w) && ops.packed != nullptr &&
         (ops.gemm == nullptr || n_tokens >= ops.packed_min_tokens);
}

// The row-streaming kernel for w and the bytes it reads: rows come in units of unit_rows rows
// (1 for the row layout, a group of 8 for the interleaved one) of `stride` bytes each.
struct Streaming {
  GemmFn fn;
  const uint8_t* base;
  int64_t unit_rows;
  int64_t stride;
  // Where row r (a multiple of unit_rows) starts.
  const uint8_t* Row(int64_t r) const { return base + r / unit_rows * stride; }
};
Streaming StreamingKernel(const MatMulOps& ops, const WeightMatrix& w) {
  if (UsesInterleaved(ops, w)) {
    CHECK(CanInterleave(w)) << "an interleaved copy needs whole groups of 8 contiguous rows";
    return {ops.gemm_x8, static_cast<const uint8_t*>(w.interleaved), kInterleaveRows,
            InterleavedGroupBytes(w.type, w.cols)};
  }
  return {ops.gemm, static_cast<const uint8_t*>(w.data), 1, w.row_bytes};
}

}  // namespace

void MatMulWithOps(const MatMulOps& ops, const WeightMatrix& w, const float* x, int64_t n_tokens,
                   float* y, ThreadPool* pool) {
  CHECK_GE(n_tokens, 0);
  CHECK_GE(w.rows, 0);
  CHECK_GE(w.row_bytes, RowBytes(w.type, w.cols)) << "weight rows overlap";
  if (n_tokens == 0 || w.rows == 0) return;
  CHECK(w.data != nullptr && x != nullptr && y != nullptr);

  thread_local std::vector<uint8_t> scratch;
  const ActRows a = QuantizeActivations(ops, x, w.cols, n_tokens, pool, &scratch);
  const void* act = a.data;
  const int64_t x_stride = a.stride;

  if (UsesPacked(ops, w, n_tokens)) {
    const auto* wb = static_cast<const uint8_t*>(w.data);
    // Packed GEMM: activations re-laid once for the whole call (groups of 16 tokens), then each
    // thread unpacks its own weight rows once and runs them against every token group.
    const int64_t n_groups = (n_tokens + 15) / 16;
    const int64_t gb = ops.group_bytes(w.cols, ops.packed_sub);
    thread_local std::vector<uint8_t> packed_buf;
    packed_buf.resize(static_cast<size_t>(n_groups * gb) + 64);
    uint8_t* pb = packed_buf.data();
    const auto* xq = static_cast<const uint8_t*>(act);
    auto pack = [&](int, int64_t g0, int64_t g1) {
      ops.pack_act(ops.act_type, ops.packed_sub, xq, x_stride, n_tokens, w.cols, g0, g1, pb);
    };
    if (pool != nullptr && n_groups > 1) {
      pool->ParallelFor(n_groups, pack);
    } else {
      pack(0, 0, n_groups);
    }
    const PackedAct pa{pb, gb, w.cols, ops.packed_sub};
    auto run_packed = [&](int, int64_t r0, int64_t r1) {
      ops.packed(w.cols, wb + r0 * w.row_bytes, w.row_bytes, &pa, y + r0, w.rows, r1 - r0,
                 n_tokens);
    };
    if (pool != nullptr) {
      pool->ParallelFor(w.rows, run_packed, /*grain=*/16);
    } else {
      run_packed(0, 0, w.rows);
    }
    return;
  }
  const Streaming k = StreamingKernel(ops, w);
  auto run = [&](int, int64_t r0, int64_t r1) {
    k.fn(w.cols, k.Row(r0), k.stride, act, x_stride, y + r0, w.rows, r1 - r0, n_tokens);
  };
  if (pool != nullptr) {
    pool->ParallelFor(w.rows, run, /*grain=*/16);
  } else {
    run(0, 0, w.rows);
  }
}

}  // namespace internal

bool IsMatMulSupported(DType type) { return internal::RefOps(type) != nullptr; }

void MatMul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool* pool) {
  const internal::MatMulOps* ops = internal::SelectedOpsFor(w.type);
  CHECK(ops != nullptr) << "MatMul does not support weights of type " << DTypeName(w.type);
  internal::MatMulWithOps(*ops, w, x, n_tokens, y, pool);
}

void MatMulMany(std::span<const MatMulOutput> outs, const float* x, int64_t n_tokens,
                ThreadPool* pool) {
  using internal::MatMulOps;
  const size_t n = outs.size();
  CHECK_LE(n, static_cast<size_t>(kMaxMatMulOutputs));
  if (n == 0 || n_tokens == 0) return;
  const int64_t cols = outs[0].w->cols;
  const MatMulOps* ops[kMaxMatMulOutputs];
  bool streaming = true;  // every matrix runs its variant's row-streaming kernel
  for (size_t i = 0; i < n; ++i) {
    const WeightMatrix& w = *outs[i].w;
    CHECK_EQ(w.cols, cols) << "MatMulMany: matrices must share their input width";
    CHECK_GE(w.row_bytes, RowBytes(w.type, w.cols)) << "weight rows overlap";
    CHECK(w.data != nullptr && outs[i].y != nullptr && x != nullptr);
    ops[i] = internal::SelectedOpsFor(w.type);
    CHECK(ops[i] != nullptr) << "MatMul does not support weights of type " << DTypeName(w.type);
    streaming = streaming && !internal::UsesPacked(*ops[i], w, n_tokens);
  }
  if (!streaming) {  // compute-bound: one pool call per matrix costs nothing that matters
    for (size_t i = 0; i < n; ++i) {
      internal::MatMulWithOps(*ops[i], *outs[i].w, x, n_tokens, outs[i].y, pool);
    }
    return;
  }
  // Activations once per format (variants with the same act_type quantize bit-identically).
  thread_local std::vector<uint8_t> scratch[kMaxMatMulOutputs];
  internal::ActRows act[kMaxMatMulOutputs];
  for (size_t i = 0; i < n; ++i) {
    size_t same = 0;
    while (same < i && ops[same]->act_type != ops[i]->act_type) ++same;
    act[i] = same < i
                 ? act[same]
                 : internal::QuantizeActivations(*ops[i], x, cols, n_tokens, pool, &scratch[i]);
  }
  // Each matrix's kernel and bytes, once, outside the split.
  internal::Streaming kernel[kMaxMatMulOutputs];
  for (size_t i = 0; i < n; ++i) kernel[i] = internal::StreamingKernel(*ops[i], *outs[i].w);
  // One row space over all matrices, each starting at a multiple of 16 so that slices of a
  // matrix stay multiples of 16 rows (full SIMD tiles) like MatMul's own split.
  int64_t first[kMaxMatMulOutputs + 1];
  first[0] = 0;
  for (size_t i = 0; i < n; ++i) first[i + 1] = first[i] + (outs[i].w->rows + 15) / 16 * 16;
  auto run = [&](int, int64_t r0, int64_t r1) {
    for (size_t i = 0; i < n; ++i) {
      const WeightMatrix& w = *outs[i].w;
      const int64_t b = std::max(r0, first[i]) - first[i];
      const int64_t e = std::min(r1 - first[i], w.rows);
      if (b >= e) continue;
      const internal::Streaming& k = kernel[i];
      k.fn(w.cols, k.Row(b), k.stride, act[i].data, act[i].stride, outs[i].y + b, w.rows, e - b,
           n_tokens);
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(first[n], run, /*grain=*/16);
  } else {
    run(0, 0, first[n]);
  }
}

std::string_view MatMulVariant(DType type) {
  const internal::MatMulOps* ops = internal::SelectedOpsFor(type);
  return ops != nullptr ? ops->variant : "none";
}

}  // namespace odlm::kernels
