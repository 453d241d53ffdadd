#include "kv/kv_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  double worst = 0;   // max |error| / the channel's min-max range over the valid tokens
  double rms = 0;     // root mean square of the same
  int64_t exact = 0;  // values decoded exactly
};

// Errors relative to each channel's min-max range over the valid tokens (K and V planes alike).
ChunkError RelativeError(const KvChunkShape& s, KvLevel level, int32_t n_valid,
                         uint32_t seed = 42) {
  const std::vector<float> x = MakeChunk(s, seed);
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
        for (int32_t u = 0; u < n_valid; ++u) {
          lo = std::min(lo, x[p * plane + u * s.kv_dim + ch]);
          hi = std::max(hi, x[p * plane + u * s.kv_dim + ch]);
        }
        const double r = std::abs(y[i] - x[i]) / std::max(1e-6f, hi - lo);
        e.worst = std::max(e.worst, r);
        e.rms += r * r;
        e.exact += y[i] == x[i];
        ++n;
      }
    }
  }
  e.rms = std::sqrt(e.rms / std::max<int64_t>(1, n));
  return e;
}

// Half a step of b bits, relative to the channel's range, with room for the parameters' grids (a
// scale ≤ 4.4% coarser, a minimum up to one grid step lower) and the f16 rounding of the output.
double HalfStep(int bits) { return 0.5 / ((1 << bits) - 1) * 1.1 + 2e-3; }

TEST(KvQuantTest, LevelsCodeKeysAtFourBitsOrMore) {
  EXPECT_EQ(KvLevelKeyBits(KvLevel::k8), 8);
  EXPECT_EQ(KvLevelValueBits(KvLevel::k8), 8);
  EXPECT_EQ(KvLevelKeyBits(KvLevel::k4), 4);
  EXPECT_EQ(KvLevelValueBits(KvLevel::k4), 4);
  EXPECT_EQ(KvLevelKeyBits(KvLevel::k2), 4);
  EXPECT_EQ(KvLevelValueBits(KvLevel::k2), 2);
  EXPECT_EQ(KvLevelOutlierPermille(KvLevel::k8, false), 0);
  EXPECT_GT(KvLevelOutlierPermille(KvLevel::k4, false), 0);
  EXPECT_GT(KvLevelOutlierPermille(KvLevel::k2, true), 0);
}

// Every value is within half a step of its channel's range (outliers, kept apart, only narrow
// the range the codes cover), and the levels really differ.
TEST(KvQuantTest, ErrorPerLevel) {
  const KvChunkShape s{.n_layer = 2, .kv_dim = 96, .chunk_tokens = 16, .type = DType::kF32};
  const ChunkError e8 = RelativeError(s, KvLevel::k8, 16);
  const ChunkError e4 = RelativeError(s, KvLevel::k4, 16);
  const ChunkError e2 = RelativeError(s, KvLevel::k2, 16);
  EXPECT_LE(e8.worst, HalfStep(8));
  EXPECT_LE(e4.worst, HalfStep(4));
  EXPECT_LE(e2.worst, HalfStep(2));
  EXPECT_LE(e4.rms, 1.0 / 15 / std::sqrt(12.0));
  EXPECT_GT(e4.rms, e8.rms);
  EXPECT_GT(e2.rms, e4.rms);
  // Below 8 bits some values are kept exactly (the outliers, rounded to f16: these are not).
  EXPECT_EQ(e8.exact, 0);
}

// A few tokens far outside their channels (a spike in some channels, as trained keys show) are
// stored exactly, and the rest of those channels keep a fine step: the error of the others is
// measured against the range *without* the spikes.
TEST(KvQuantTest, OutliersAreExactAndKeepTheRestPrecise) {
  const KvChunkShape s{.n_layer = 1, .kv_dim = 64, .chunk_tokens = 16, .type = DType::kF16};
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> x(s.working_bytes() / 2);
  std::vector<float> xf(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = FloatToHalf(nd(rng));
    xf[i] = HalfToFloat(x[i]);
  }
  const int64_t plane = 16 * 64;
  const std::vector<int64_t> spikes = {3 * 64 + 5, 9 * 64 + 5, 12 * 64 + 40, plane + 7 * 64 + 2};
  for (int64_t i : spikes) x[i] = FloatToHalf(xf[i] = (i % 2 ? 300.0f : -250.0f));
  for (KvLevel level : {KvLevel::k4, KvLevel::k2}) {
    std::vector<uint8_t> packed(s.compressed_bytes(level));
    CompressKvChunk(s, level, x.data(), 16, packed);
    std::vector<uint16_t> y(x.size());
    DecompressKvChunk(s, level, packed, 16, y.data());
    for (int64_t i : spikes) EXPECT_EQ(y[i], x[i]) << KvLevelName(level) << " spike " << i;
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::find(spikes.begin(), spikes.end(), static_cast<int64_t>(i)) != spikes.end())
        continue;
      worst = std::max<double>(worst, std::abs(HalfToFloat(y[i]) - xf[i]));
    }
    // Normal values span ~±3.5: a step of 2 bits over ~7 is ~2.3, over ~550 it would be ~180.
    const int bits = KvLevelValueBits(level);
    EXPECT_LT(worst, 8.0 / ((1 << bits) - 1)) << KvLevelName(level);
  }
}

TEST(KvQuantTest, PartialChunkAndF16) {
  const KvChunkShape s{.n_layer = 1, .kv_dim = 64, .chunk_tokens = 16, .type = DType::kF32};
  EXPECT_LE(RelativeError(s, KvLevel::k4, 5).worst, HalfStep(4));
  EXPECT_LE(RelativeError(s, KvLevel::k8, 5).worst, HalfStep(8));
  EXPECT_LE(RelativeError(s, KvLevel::k2, 5).worst, HalfStep(2));
  // One valid token: each channel's "range" is one value, which the minimum's grid (the plane's
  // spread of minima / 255) cannot hit exactly; the codes still land within a fraction of a grid
  // step of it.
  {
    const std::vector<float> x = MakeChunk(s, 3);
    std::vector<uint8_t> packed(s.compressed_bytes(KvLevel::k2));
    CompressKvChunk(s, KvLevel::k2, x.data(), 1, packed);
    std::vector<float> y(x.size());
    DecompressKvChunk(s, KvLevel::k2, packed, 1, y.data());
    for (int32_t p = 0; p < 2; ++p) {
      float lo = INFINITY, hi = -INFINITY;
      for (int32_t c = 0; c < 64; ++c)
        lo = std::min(lo, x[p * 16 * 64 + c]), hi = std::max(hi, x[p * 16 * 64 + c]);
      for (int32_t c = 0; c < 64; ++c) {
        EXPECT_LE(std::abs(y[p * 16 * 64 + c] - x[p * 16 * 64 + c]), (hi - lo) / 255) << c;
      }
    }
  }
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
  // Per plane: 8-byte header, 2 parameter bytes per channel, 4 bytes per outlier, the codes.
  auto plane = [&](int bits, int permille) {
    return 8 + 2 * 128 + 4 * ((16 * 128 * permille + 999) / 1000) + 16 * 128 * bits / 8;
  };
  EXPECT_EQ(s.compressed_bytes(KvLevel::k8), 3 * 2 * plane(8, 0));
  EXPECT_EQ(s.compressed_bytes(KvLevel::k4),
            3 * (plane(4, KvLevelOutlierPermille(KvLevel::k4, false)) +
                 plane(4, KvLevelOutlierPermille(KvLevel::k4, true))));
  EXPECT_LT(s.compressed_bytes(KvLevel::k8), s.working_bytes() * 0.6);
  EXPECT_LT(s.compressed_bytes(KvLevel::k4), s.compressed_bytes(KvLevel::k8) * 0.7);
  EXPECT_LT(s.compressed_bytes(KvLevel::k2), s.compressed_bytes(KvLevel::k4) * 0.95);
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
