// kernels/matmul_conformance_test.cc — every compiled variant this CPU can run equals the scalar
// reference within a named tolerance, on random and adversarial blocks (all-zero, max-magnitude
// codes and scales, denormal f16 scales, random bit patterns), for several token counts and odd
// row counts.
//
// Tolerance: the variants compute the same exact integer sums per block as the reference and
// differ only in the order of f32 accumulation. Some keep a type's code offset apart (Σ q·y and
// −8·Σ y for Q4_0, the min term of the K-quants), so their partial sums can reach Σ|w0_i·x_i| as
// well, w0 the weight that code 0 decodes to: |y - y_ref| <= kRelTol · Σ(|w_i| + |w0_i|)·|x_i|
// (computed in float64 from the decoded weights and activations).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/matmul_ops.h"
#include "kernels/quant.h"
#include "platform/cpu_features.h"
#include "tensor/block_layouts.h"
#include "tensor/half.h"

namespace odlm::kernels::internal {
namespace {

constexpr double kRelTol = 2e-5;

constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                            DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                            DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// Byte offsets of the f16 scale fields within one block of each quantized type.
std::vector<int> HalfFieldOffsets(DType type) {
  switch (type) {
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ8_0:
      return {0};
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
      return {0, 2};
    case DType::kQ2_K:
      return {80, 82};
    case DType::kQ3_K:
      return {108};
    case DType::kQ6_K:
      return {208};
    default:
      return {};
  }
}

// Byte ranges [begin, end) holding the codes within one block of each quantized type (zeroed, a
// block decodes to its code-0 offsets). Q8_0 has none: its code 0 is 0.
std::vector<std::pair<int, int>> CodeByteRanges(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return {{2, 18}};
    case DType::kQ4_1:
      return {{4, 20}};
    case DType::kQ5_0:
      return {{2, 22}};
    case DType::kQ5_1:
      return {{4, 24}};
    case DType::kQ2_K:
      return {{16, 80}};
    case DType::kQ3_K:
      return {{0, 96}};
    case DType::kQ4_K:
      return {{16, 144}};
    case DType::kQ5_K:
      return {{16, 176}};
    case DType::kQ6_K:
      return {{0, 192}};
    default:
      return {};
  }
}

enum class Mode { kRandom, kZero, kMaxMagnitude, kDenormalScales, kRandomBits };

uint16_t RandomFiniteHalf(std::mt19937& rng) {
  for (;;) {
    const uint16_t h = static_cast<uint16_t>(rng());
    if (((h >> 10) & 0x1f) != 0x1f) return h;
  }
}

// Weights: [rows, RowBytes(type, cols)].
std::vector<uint8_t> MakeWeights(DType type, int64_t rows, int64_t cols, Mode mode, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t rb = RowBytes(type, cols);
  std::vector<uint8_t> w(rows * rb, 0);
  const DTypeInfo& info = GetDTypeInfo(type);
  if (mode == Mode::kZero) return w;
  if (mode == Mode::kRandom) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> row(cols);
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = dist(rng);
      QuantizeRow(type, row.data(), w.data() + r * rb, cols);
    }
    return w;
  }
  if (!info.quantized) {
    for (int64_t i = 0; i < rows * cols; ++i) {
      if (type == DType::kF32) {
        const float v =
            mode == Mode::kMaxMagnitude ? ((i % 3) ? 3e4f : -3e4f)
            : mode == Mode::kDenormalScales
                ? std::ldexp(static_cast<float>(rng() % 1000), -140)
                : std::ldexp(static_cast<float>(static_cast<int>(rng() % 2001) - 1000), -7);
        std::memcpy(w.data() + 4 * i, &v, 4);
      } else {
        uint16_t h = mode == Mode::kMaxMagnitude     ? ((i % 3) ? 0x7bff : 0xfbff)
                     : mode == Mode::kDenormalScales ? static_cast<uint16_t>(rng() & 0x83ff)
                                                     : RandomFiniteHalf(rng);
        if (type == DType::kBF16 && mode == Mode::kMaxMagnitude)
          h = (i % 3) ? 0x477f : 0xc77f;                                     // ±65280
        if (type == DType::kBF16 && mode == Mode::kRandomBits) h &= 0xbfff;  // |v| < 2, finite
        std::memcpy(w.data() + 2 * i, &h, 2);
      }
    }
    return w;
  }
  // Quantized: code bytes random (or all-extreme), scale fields per mode.
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const int64_t n_blocks = rows * (cols / info.block_size);
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    uint8_t* p = w.data() + blk * info.type_size;
    if (mode == Mode::kMaxMagnitude) {
      // Every byte 0x80 gives -128 for int8 codes and extreme nibbles/fields for the others.
      std::memset(p, 0x80, info.type_size);
      if (type == DType::kQ4_0) std::memset(p, 0x00, info.type_size);  // codes 0 -> -8
    }
    for (int off : HalfFieldOffsets(type)) {
      uint16_t h = 0;
      switch (mode) {
        case Mode::kMaxMagnitude:
          h = 0x7bff;
          break;  // 65504
        case Mode::kDenormalScales:
          h = static_cast<uint16_t>(rng() & 0x83ff);
          break;
        default:
          h = static_cast<uint16_t>(RandomFiniteHalf(rng) & 0xbfff);
          break;  // |h| < 2
      }
      std::memcpy(p + off, &h, 2);
    }
  }
  return w;
}

std::vector<float> MakeActivations(int64_t n_tokens, int64_t cols, Mode mode, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n_tokens * cols);
  for (int64_t i = 0; i < n_tokens * cols; ++i) {
    switch (mode) {
      case Mode::kZero:
        x[i] = 0;
        break;
      case Mode::kMaxMagnitude:
        x[i] = (i % 2) ? 1e4f : -1e4f;
        break;
      case Mode::kDenormalScales:
        x[i] = dist(rng) * 1e-6f;
        break;
      default:
        x[i] = dist(rng);
        break;
    }
  }
  // Token 1 (if any) is all zero and token 2 has one spike: edge rows inside a normal batch.
  if (n_tokens > 1) std::fill_n(x.begin() + cols, cols, 0.0f);
  if (n_tokens > 2) x[2 * cols + 5] = 300.0f;
  return x;
}

// Σ(|w_i| + |w0_i|)·|x_i| per output (see the tolerance above), from the decoded weights and the
// activations as quantized for the type.
std::vector<double> AbsDot(DType type, DType act_type, const std::vector<uint8_t>& w, int64_t rows,
                           int64_t cols, const std::vector<float>& x, int64_t n_tokens) {
  const int64_t rb = RowBytes(type, cols);
  std::vector<float> wd(rows * cols), xd(n_tokens * cols);
  for (int64_t r = 0; r < rows; ++r)
    DequantizeRow(type, w.data() + r * rb, wd.data() + r * cols, cols);
  // |w| + |w0|: the same blocks with their codes zeroed decode to the offsets.
  std::vector<uint8_t> w_zero = w;
  const DTypeInfo& info = GetDTypeInfo(type);
  if (info.quantized) {
    for (int64_t blk = 0; blk < rows * (cols / info.block_size); ++blk) {
      for (auto [b, e] : CodeByteRanges(type)) {
        std::fill(w_zero.begin() + blk * info.type_size + b,
                  w_zero.begin() + blk * info.type_size + e, uint8_t{0});
      }
    }
    std::vector<float> w0(cols);
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(type, w_zero.data() + r * rb, w0.data(), cols);
      for (int64_t i = 0; i < cols; ++i) {
        wd[r * cols + i] = std::fabs(wd[r * cols + i]) + std::fabs(w0[i]);
      }
    }
  }
  if (act_type == DType::kF32) {
    xd = x;
  } else {
    std::vector<uint8_t> q(RowBytes(act_type, cols));
    for (int64_t t = 0; t < n_tokens; ++t) {
      QuantizeRow(act_type, x.data() + t * cols, q.data(), cols);
      DequantizeRow(act_type, q.data(), xd.data() + t * cols, cols);
    }
  }
  std::vector<double> out(n_tokens * rows);
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t i = 0; i < cols; ++i)
        s += std::fabs(static_cast<double>(wd[r * cols + i]) * xd[t * cols + i]);
      out[t * rows + r] = s;
    }
  return out;
}

TEST(MatMulConformanceTest, EveryVariantMatchesReference) {
  std::printf("  CPU: %s\n", GetCpuFeatures().ToString().c_str());
  const Mode kModes[] = {Mode::kRandom, Mode::kZero, Mode::kMaxMagnitude, Mode::kDenormalScales,
                         Mode::kRandomBits};
  // 1..7: direct tiles; 8 and up: the packed GEMM where the variant has one (16 = one full token
  // group, 33 = two groups and a partial one); rows 5 and 13 leave row-tile remainders; 24 rows
  // (three groups of 8) also run the interleaved layout where a variant has a kernel for it.
  const int64_t kTokenCounts[] = {1, 2, 3, 7, 8, 16, 33};
  ThreadPool pool(2);
  int compared = 0, compared_x8 = 0;
  for (DType type : kTypes) {
    const MatMulOps* ops[3];
    const int n_ops = RunnableOps(type, ops);
    ASSERT_GE(n_ops, 1) << DTypeName(type);
    // Float rows of 99 elements leave a tail after every vector width (4, 8, 16 lanes).
    const int64_t block = GetDTypeInfo(type).block_size;
    const int64_t cols = block == 256 ? 512 : block == 1 ? 99 : 96;
    for (int64_t rows : {1, 5, 13, 24}) {
      for (Mode mode : kModes) {
        const auto w = MakeWeights(type, rows, cols, mode,
                                   static_cast<uint32_t>(rows * 31 + static_cast<int>(mode)));
        const WeightMatrix m{type, w.data(), rows, cols, RowBytes(type, cols)};
        std::vector<uint8_t> interleaved;
        WeightMatrix mi = m;
        if (CanInterleave(m)) {
          interleaved.resize(InterleavedBytes(m));
          InterleaveRows(m, interleaved.data(), nullptr);
          mi.interleaved = interleaved.data();
        }
        for (int64_t nt : kTokenCounts) {
          const auto x = MakeActivations(nt, cols, mode, static_cast<uint32_t>(nt));
          std::vector<float> y_ref(nt * rows);
          MatMulWithOps(*ops[0], m, x.data(), nt, y_ref.data(), nullptr);
          const auto abs_dot = AbsDot(type, ops[0]->act_type, w, rows, cols, x, nt);
          for (int v = 0; v < n_ops; ++v) {
            for (bool use_x8 : {false, true}) {
              if (use_x8 && (ops[v]->gemm_x8 == nullptr || mi.interleaved == nullptr)) continue;
              std::vector<float> y(nt * rows, NAN);
              MatMulWithOps(*ops[v], use_x8 ? mi : m, x.data(), nt, y.data(),
                            v == n_ops - 1 ? &pool : nullptr);
              for (int64_t i = 0; i < nt * rows; ++i) {
                ASSERT_TRUE(std::isfinite(y[i]) || !std::isfinite(y_ref[i]))
                    << DTypeName(type) << " " << ops[v]->variant << " mode "
                    << static_cast<int>(mode);
                ASSERT_NEAR(y[i], y_ref[i], kRelTol * abs_dot[i] + 1e-35)
                    << DTypeName(type) << " variant " << ops[v]->variant
                    << (use_x8 ? " interleaved" : "") << " mode " << static_cast<int>(mode)
                    << " rows " << rows << " tokens " << nt << " at " << i;
              }
              ++compared;
              if (use_x8) ++compared_x8;
            }
          }
        }
      }
    }
  }
  std::printf("  %d variant runs compared (%d over the interleaved layout)\n", compared,
              compared_x8);
}

TEST(MatMulConformanceTest, ReportsVariants) {
  for (DType type : kTypes) {
    const MatMulOps* ops[3];
    const int n = RunnableOps(type, ops);
    std::string names;
    for (int i = 0; i < n; ++i) names += std::string(ops[i]->variant) + " ";
    std::printf("  %-5s runnable: %s(MatMul uses %s)\n", DTypeName(type).data(), names.c_str(),
                MatMulVariant(type).data());
    EXPECT_EQ(MatMulVariant(type), ops[n - 1]->variant);
  }
}

// A variant's own activation quantizer must produce the reference's bytes exactly.
TEST(MatMulConformanceTest, ActivationQuantizersMatchReferenceBytes) {
  int checked = 0;
  for (DType type : kTypes) {
    const MatMulOps* ops[3];
    const int n = RunnableOps(type, ops);
    for (int v = 1; v < n; ++v) {
      if (ops[v]->quantize_act == nullptr) continue;
      const int64_t cols = 512;
      const DType act = ops[v]->act_type;
      for (Mode mode : {Mode::kRandom, Mode::kZero, Mode::kMaxMagnitude, Mode::kDenormalScales}) {
        auto x = MakeActivations(4, cols, mode, 11);
        x[7] = 5e6f;            // an outlier near the f16 scale limit
        x[cols + 9] = -3e-39f;  // a denormal in an otherwise zero row
        // Row 3: every block's max is 127 (scale exactly 1), the rest halfway between two codes,
        // so the rounding rule (ties to even) shows.
        for (int64_t e = 0; e < cols; ++e)
          x[3 * cols + e] = e % 32 == 0 ? 127.0f : static_cast<float>((e * 7) % 254 - 127) + 0.5f;
        const int64_t rb = RowBytes(act, cols);
        for (int t = 0; t < 4; ++t) {
          std::vector<uint8_t> want(rb), got(rb, 0xcd);
          QuantizeRow(act, x.data() + t * cols, want.data(), cols);
          ops[v]->quantize_act(x.data() + t * cols, got.data(), cols);
          ASSERT_EQ(want, got) << DTypeName(type) << " " << ops[v]->variant << " mode "
                               << static_cast<int>(mode) << " token " << t;
          ++checked;
        }
      }
    }
  }
  std::printf("  %d quantized activation rows compared\n", checked);
}

// A block whose largest value is denormal: 127 / amax overflows; the block must encode as zeros
// (the reference once turned inf * 0 into NaN and cast it to int), in every variant alike.
TEST(MatMulConformanceTest, DenormalOnlyActivationBlocksEncodeAsZero) {
  std::vector<float> x(256, 1e-45f);
  x[3] = -1e-45f;
  std::vector<uint8_t> want(sizeof(odlm::BlockQ8_K));
  QuantizeRow(DType::kQ8_K, x.data(), want.data(), 256);
  const auto* b = reinterpret_cast<const odlm::BlockQ8_K*>(want.data());
  for (int e = 0; e < 256; ++e) ASSERT_EQ(b->qs[e], 0) << e;
  for (int k = 0; k < 16; ++k) ASSERT_EQ(b->bsums[k], 0);
  const MatMulOps* ops[3];
  const int n = RunnableOps(DType::kQ4_K, ops);
  for (int v = 1; v < n; ++v) {
    if (ops[v]->quantize_act == nullptr) continue;
    std::vector<uint8_t> got(want.size(), 0xcd);
    ops[v]->quantize_act(x.data(), got.data(), 256);
    EXPECT_EQ(want, got) << ops[v]->variant;
  }
}

}  // namespace
}  // namespace odlm::kernels::internal
