#include "kv/kv_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/half.h"

namespace odlm {
namespace {

// A working chunk of F32 values: K with a few outlier channels (as real keys have), V normal.
std::vector<float> MakeChunk(const KvChunkShape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(2LL * s.n_layer * s.chunk_tokens * s.kv_dim);
  const int64_t plane = static_cast<int64_t>(s.chunk_tokens) * s.kv_dim;
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) {
    const bool is_k = i < s.n_layer * plane;
    const int64_t ch = i % s.kv_dim;
    x[i] = nd(rng) * (is_k && ch % 17 == 3 ? 8.0f : 1.0f) + (is_k ? 0.5f * (ch % 5) : 0.0f);
  }
  return x;
}

struct ChunkError {
  double worst = 0;  // max |error| / the group's range
  double rms = 0;    // root mean square of |error| / the group's range
};

// Errors relative to each group's min-max range (K per channel over valid tokens, V per token over
// 32 channels).
ChunkError RelativeError(const KvChunkShape& s, KvLevel level, int32_t n_valid) {
  const std::vector<float> x = MakeChunk(s, 42);
  std::vector<uint8_t> packed(s.compressed_bytes(level));
  CompressKvChunk(s, level, x.data(), n_valid, packed);
  std::vector<float> y(x.size(), 123.0f);
  DecompressKvChunk(s, level, packed, n_valid, y.data());
  const int64_t plane = static_cast<int64_t>(s.chunk_tokens) * s.kv_dim;
  ChunkError e;
  int64_t n = 0;
  for (int64_t p = 0; p < 2LL * s.n_layer; ++p) {
    for (int32_t t = 0; t < s.chunk_tokens; ++t) {
      for (int32_t ch = 0; ch < s.kv_dim; ++ch) {
        const int64_t i = p * plane + static_cast<int64_t>(t) * s.kv_dim + ch;
        if (t >= n_valid) {
          EXPECT_EQ(y[i], 0.0f) << "rows past n_valid decode to zero";
          continue;
        }
        float lo = INFINITY, hi = -INFINITY;
        if (p < s.n_layer) {
          for (int32_t u = 0; u < n_valid; ++u) {
            lo = std::min(lo, x[p * plane + u * s.kv_dim + ch]);
            hi = std::max(hi, x[p * plane + u * s.kv_dim + ch]);
          }
        } else {
          const int32_t g0 = ch / kKvValueGroup * kKvValueGroup;
          for (int32_t c2 = g0; c2 < std::min(s.kv_dim, g0 + kKvValueGroup); ++c2) {
            lo = std::min(lo, x[p * plane + t * s.kv_dim + c2]);
            hi = std::max(hi, x[p * plane + t * s.kv_dim + c2]);
          }
        }
        const double r = std::abs(y[i] - x[i]) / std::max(1e-6f, hi - lo);
        e.worst = std::max(e.worst, r);
        e.rms += r * r;
        ++n;
      }
    }
  }
  e.rms = std::sqrt(e.rms / std::max<int64_t>(1, n));
  return e;
}

// 8-bit uses the min-max range: every error is within half a step (+ f16 slack). 4 and 2 bits may
// clip outliers when that lowers the squared error of the group, so their bound is on the RMS:
// below the uniform-noise RMS of a min-max quantizer (step / √12), since min-max is one of the
// candidates and clipping only ever lowers it.
TEST(KvQuantTest, ErrorPerLevel) {
  const KvChunkShape s{.n_layer = 2, .kv_dim = 80, .chunk_tokens = 16, .type = DType::kF32};
  const ChunkError e8 = RelativeError(s, KvLevel::k8, 16);
  const ChunkError e4 = RelativeError(s, KvLevel::k4, 16);
  const ChunkError e2 = RelativeError(s, KvLevel::k2, 16);
  EXPECT_LE(e8.worst, 0.5 / 255 + 2e-3);
  EXPECT_LE(e4.rms, 1.0 / 15 / std::sqrt(12.0));
  EXPECT_LE(e2.rms, 1.0 / 3 / std::sqrt(12.0));
  EXPECT_LE(e4.worst, 0.5);
  EXPECT_LE(e2.worst, 0.5);
  EXPECT_GT(e4.rms, e8.rms);  // the levels really differ
  EXPECT_GT(e2.rms, e4.rms);
}

// The fitted 2-bit params beat plain min-max clearly on Gaussian data (min-max wastes codes on
// the tails): RMS at most 85% of min-max's step / √12.
TEST(KvQuantTest, FittedRangesBeatMinMaxAtTwoBits) {
  const KvChunkShape s{.n_layer = 4, .kv_dim = 128, .chunk_tokens = 16, .type = DType::kF32};
  EXPECT_LE(RelativeError(s, KvLevel::k2, 16).rms, 0.85 / 3 / std::sqrt(12.0));
}

TEST(KvQuantTest, PartialChunkAndF16) {
  const KvChunkShape s{.n_layer = 1, .kv_dim = 64, .chunk_tokens = 16, .type = DType::kF32};
  EXPECT_LE(RelativeError(s, KvLevel::k4, 5).rms, 1.0 / 15 / std::sqrt(12.0));
  EXPECT_LE(RelativeError(s, KvLevel::k8, 5).worst, 0.5 / 255 + 2e-3);
  // F16 working type: round trip through halves.
  const KvChunkShape h{.n_layer = 1, .kv_dim = 64, .chunk_tokens = 16, .type = DType::kF16};
  const std::vector<float> x = MakeChunk(h, 7);
  std::vector<uint16_t> xh(x.size()), yh(x.size());
  for (size_t i = 0; i < x.size(); ++i) xh[i] = FloatToHalf(x[i]);
  std::vector<uint8_t> packed(h.compressed_bytes(KvLevel::k8));
  CompressKvChunk(h, KvLevel::k8, xh.data(), 16, packed);
  DecompressKvChunk(h, KvLevel::k8, packed, 16, yh.data());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    worst = std::max<double>(worst, std::abs(HalfToFloat(yh[i]) - HalfToFloat(xh[i])));
  }
  EXPECT_LT(worst, 0.2);  // ranges here are ≤ ~50: half a step of 8 bits ≈ 0.1
}

TEST(KvQuantTest, RawIsBitExactAndSizesShrink) {
  const KvChunkShape s{.n_layer = 3, .kv_dim = 128, .chunk_tokens = 16, .type = DType::kF16};
  std::vector<uint16_t> x(s.working_bytes() / 2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint16_t>(i * 2654435761u >> 7);
  std::vector<uint8_t> packed(s.compressed_bytes(KvLevel::kRaw));
  CompressKvChunk(s, KvLevel::kRaw, x.data(), 16, packed);
  std::vector<uint16_t> y(x.size());
  DecompressKvChunk(s, KvLevel::kRaw, packed, 16, y.data());
  EXPECT_EQ(x, y);
  EXPECT_EQ(s.compressed_bytes(KvLevel::kRaw), s.working_bytes());
  EXPECT_LT(s.compressed_bytes(KvLevel::k8), s.working_bytes() * 0.6);
  EXPECT_LT(s.compressed_bytes(KvLevel::k4), s.compressed_bytes(KvLevel::k8) * 0.6);
  EXPECT_LT(s.compressed_bytes(KvLevel::k2), s.compressed_bytes(KvLevel::k4) * 0.7);
}

TEST(KvQuantTest, ConstantGroupsAreExact) {
  const KvChunkShape s{.n_layer = 1, .kv_dim = 32, .chunk_tokens = 16, .type = DType::kF32};
  std::vector<float> x(s.working_bytes() / 4, 1.25f), y(x.size());
  std::vector<uint8_t> packed(s.compressed_bytes(KvLevel::k2));
  CompressKvChunk(s, KvLevel::k2, x.data(), 16, packed);
  DecompressKvChunk(s, KvLevel::k2, packed, 16, y.data());
  EXPECT_EQ(x, y);
}

// The decoder this CPU uses (SIMD where available) gives the portable decoder's bits exactly, for
// every level, both working types, full and partial chunks, and a kv_dim with a partial group.
TEST(KvQuantTest, FastDecoderMatchesPortableBitForBit) {
  for (DType type : {DType::kF16, DType::kF32}) {
    for (int32_t kv_dim : {256, 80}) {
      const KvChunkShape s{.n_layer = 2, .kv_dim = kv_dim, .chunk_tokens = 16, .type = type};
      const std::vector<float> x = MakeChunk(s, 11);
      std::vector<uint8_t> working(s.working_bytes());
      for (size_t i = 0; i < x.size(); ++i) {
        if (type == DType::kF16) {
          const uint16_t h = FloatToHalf(x[i]);
          std::memcpy(working.data() + 2 * i, &h, 2);
        } else {
          std::memcpy(working.data() + 4 * i, &x[i], 4);
        }
      }
      for (KvLevel level : {KvLevel::k8, KvLevel::k4, KvLevel::k2}) {
        for (int32_t n_valid : {16, 7}) {
          std::vector<uint8_t> packed(s.compressed_bytes(level));
          CompressKvChunk(s, level, working.data(), n_valid, packed);
          std::vector<uint8_t> fast(s.working_bytes(), 0xAB), slow(s.working_bytes(), 0xCD);
          DecompressKvChunk(s, level, packed, n_valid, fast.data());
          DecompressKvChunkPortable(s, level, packed, n_valid, slow.data());
          EXPECT_EQ(fast, slow) << KvLevelName(level) << " kv_dim " << kv_dim << " n_valid "
                                << n_valid << (type == DType::kF16 ? " f16" : " f32");
        }
      }
    }
  }
}

}  // namespace
}  // namespace odlm
