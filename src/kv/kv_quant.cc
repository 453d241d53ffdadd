// kv/kv_quant.cc — per-channel asymmetric quantization of KV chunks with exact outliers (our own
// format, see header).
#include "kv/kv_quant.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kv/kv_quant_rows.h"
#include "platform/cpu_features.h"
#include "tensor/half.h"

namespace odlm {
namespace {

using kv_internal::RowParams;

constexpr int32_t kBlock = 32;              // channels per code block
constexpr int64_t kPlaneHeaderBytes = 8;    // min_base, min_step, scale_top (f16), 2 zero bytes
constexpr uint16_t kNoOutlier = 0xFFFF;     // an unused outlier slot
constexpr int kConstantScaleCode = 255;     // scale code of a channel with a single value
constexpr float kScaleCodesPerOctave = 16;  // log grid of the scale codes

int64_t BlockBytes(int32_t n, int bits) { return (static_cast<int64_t>(n) * bits + 7) / 8; }

// Bytes of one row of kv_dim packed codes.
int64_t CodeRowBytes(int32_t kv_dim, int bits) {
  int64_t bytes = 0;
  for (int32_t b = 0; b < kv_dim; b += kBlock)
    bytes += BlockBytes(std::min(kBlock, kv_dim - b), bits);
  return bytes;
}

// How one plane (one layer's K or V) is coded at a level.
struct PlaneCode {
  int bits = 8;
  int64_t outliers = 0;  // slots
};

PlaneCode PlaneCodeFor(const KvChunkShape& s, KvLevel level, bool value_plane) {
  PlaneCode c;
  c.bits = value_plane ? KvLevelValueBits(level) : KvLevelKeyBits(level);
  const int64_t values = static_cast<int64_t>(s.chunk_tokens) * s.kv_dim;
  if (values < kNoOutlier) {
    c.outliers = (values * KvLevelOutlierPermille(level, value_plane) + 999) / 1000;
  }
  return c;
}

int64_t PlaneBytes(const KvChunkShape& s, const PlaneCode& c) {
  return kPlaneHeaderBytes + 2LL * s.kv_dim + 4 * c.outliers +
         s.chunk_tokens * CodeRowBytes(s.kv_dim, c.bits);
}

// Reads element i of a working row (F16 or F32).
inline float Load(DType type, const uint8_t* base, int64_t i) {
  if (type == DType::kF16) {
    uint16_t h;
    std::memcpy(&h, base + 2 * i, 2);
    return HalfToFloat(h);
  }
  float f;
  std::memcpy(&f, base + 4 * i, 4);
  return f;
}

inline void Store(DType type, uint8_t* base, int64_t i, float v) {
  if (type == DType::kF16) {
    const uint16_t h = FloatToHalf(v);
    std::memcpy(base + 2 * i, &h, 2);
  } else {
    std::memcpy(base + 4 * i, &v, 4);
  }
}

// The f16 one step towards -inf / +inf (finite inputs).
uint16_t HalfDown(uint16_t h) {
  if (h == 0x0000 || h == 0x8000) return 0x8001;
  return (h & 0x8000) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h - 1);
}
uint16_t HalfUp(uint16_t h) {
  if (h == 0x0000 || h == 0x8000) return 0x0001;
  return (h & 0x8000) ? static_cast<uint16_t>(h - 1) : static_cast<uint16_t>(h + 1);
}
// The largest f16 ≤ x and the smallest f16 ≥ x (|x| within the f16 range).
uint16_t HalfAtMost(float x) {
  uint16_t h = FloatToHalf(x);
  while (HalfToFloat(h) > x) h = HalfDown(h);
  return h;
}
uint16_t HalfAtLeast(float x) {
  uint16_t h = FloatToHalf(x);
  while (HalfToFloat(h) < x) h = HalfUp(h);
  return h;
}

// 2^(−i/16) for the scale codes, computed once (the same table for every decoder).
const std::array<float, 256>& ScaleGrid() {
  static const std::array<float, 256> grid = [] {
    std::array<float, 256> g{};
    for (int i = 0; i < 255; ++i) g[i] = static_cast<float>(std::exp2(-i / kScaleCodesPerOctave));
    g[kConstantScaleCode] = 0.0f;
    return g;
  }();
  return grid;
}

// A plane's parameters: the stored bytes and the float values codes are computed and decoded with.
struct PlaneParams {
  uint16_t min_base = 0, min_step = 0, scale_top = 0;
  std::vector<uint8_t> min_code, scale_code;
  std::vector<float> min, scale;
};

// Expands the stored parameters to floats; the compressor and both decoders use exactly this.
void ExpandParams(PlaneParams& p, int32_t kv_dim) {
  const float base = HalfToFloat(p.min_base), step = HalfToFloat(p.min_step);
  const float top = HalfToFloat(p.scale_top);
  const auto& grid = ScaleGrid();
  p.min.resize(kv_dim);
  p.scale.resize(kv_dim);
  for (int32_t c = 0; c < kv_dim; ++c) {
    p.min[c] = base + step * static_cast<float>(p.min_code[c]);
    p.scale[c] = top * grid[p.scale_code[c]];
  }
}

// Fits per-channel parameters so that [min_c, min_c + scale_c·max_code] covers [lo_c, hi_c].
PlaneParams FitPlaneParams(const std::vector<float>& lo, const std::vector<float>& hi, int bits) {
  const int32_t kv_dim = static_cast<int32_t>(lo.size());
  const float max_code = static_cast<float>((1 << bits) - 1);
  PlaneParams p;
  p.min_code.assign(kv_dim, 0);
  p.scale_code.assign(kv_dim, kConstantScaleCode);
  const float lo_min = *std::min_element(lo.begin(), lo.end());
  const float lo_max = *std::max_element(lo.begin(), lo.end());
  p.min_base = HalfAtMost(lo_min);
  const float base = HalfToFloat(p.min_base);
  p.min_step = lo_max > base ? HalfAtLeast((lo_max - base) / 255.0f) : 0;
  const float step = HalfToFloat(p.min_step);
  std::vector<float> need(kv_dim, 0.0f);  // the scale each channel needs
  float top = 0;
  for (int32_t c = 0; c < kv_dim; ++c) {
    int m = step > 0 ? static_cast<int>(std::floor((lo[c] - base) / step)) : 0;
    m = std::clamp(m, 0, 255);
    while (m > 0 && base + step * static_cast<float>(m) > lo[c]) --m;
    p.min_code[c] = static_cast<uint8_t>(m);
    const float min_c = base + step * static_cast<float>(m);
    need[c] = std::max(0.0f, (hi[c] - min_c) / max_code);
    top = std::max(top, need[c]);
  }
  p.scale_top = top > 0 ? HalfAtLeast(top) : 0;
  const float top_f = HalfToFloat(p.scale_top);
  const auto& grid = ScaleGrid();
  for (int32_t c = 0; c < kv_dim; ++c) {
    if (!(need[c] > 0) || !(top_f > 0)) continue;  // a constant channel: scale 0
    int s = static_cast<int>(std::floor(-kScaleCodesPerOctave * std::log2(need[c] / top_f)));
    s = std::clamp(s, 0, 254);
    while (s > 0 && top_f * grid[s] < need[c]) --s;
    p.scale_code[c] = static_cast<uint8_t>(s);
  }
  ExpandParams(p, kv_dim);
  return p;
}

// Nearest code, ties up (clamped first, so the truncation rounds a non-negative value).
inline int Code(float v, float min, float scale, int bits) {
  if (!(scale > 0)) return 0;
  const float x = std::clamp((v - min) / scale, 0.0f, static_cast<float>((1 << bits) - 1));
  return static_cast<int>(x + 0.5f);
}

// The `count` values of x ([n_valid][kv_dim]) farthest from their channel's mean (ties: lower
// position first), as positions t·kv_dim + c in ascending order; marks them in `is_outlier`.
// (Measured on the trained default model, this beats a greedy choice that minimizes Σ n·range²:
// a key far from its channel's mean is also one whose error moves q·k the most.)
std::vector<uint16_t> ChooseOutliers(const std::vector<float>& x, int32_t n_valid, int32_t kv_dim,
                                     int64_t count, std::vector<uint8_t>& is_outlier) {
  std::vector<uint16_t> picked;
  if (count <= 0 || n_valid < 2) return picked;
  struct Candidate {
    float distance;
    int32_t pos;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(x.size());
  for (int32_t c = 0; c < kv_dim; ++c) {
    double mean = 0;
    for (int32_t t = 0; t < n_valid; ++t) mean += x[static_cast<size_t>(t) * kv_dim + c];
    mean /= n_valid;
    for (int32_t t = 0; t < n_valid; ++t) {
      const int32_t pos = t * kv_dim + c;
      candidates.push_back({static_cast<float>(std::abs(x[pos] - mean)), pos});
    }
  }
  count = std::min<int64_t>(count, static_cast<int64_t>(candidates.size()));
  std::partial_sort(candidates.begin(), candidates.begin() + count, candidates.end(),
                    [](const Candidate& a, const Candidate& b) {
                      return a.distance != b.distance ? a.distance > b.distance : a.pos < b.pos;
                    });
  for (int64_t i = 0; i < count; ++i) {
    picked.push_back(static_cast<uint16_t>(candidates[i].pos));
    is_outlier[candidates[i].pos] = 1;
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}

// Packs codes q[0..kv_dim) into one code row (layout in kv_quant.h).
void PackRow(const uint8_t* q, int32_t kv_dim, int bits, uint8_t* out) {
  for (int32_t b = 0; b < kv_dim; b += kBlock) {
    const int32_t n = std::min(kBlock, kv_dim - b);
    const int64_t stride = BlockBytes(n, bits);
    std::memset(out, 0, stride);
    for (int32_t i = 0; i < n; ++i) {
      out[i % stride] |= static_cast<uint8_t>(q[b + i] << ((i / stride) * bits));
    }
    out += stride;
  }
}

inline int Unpack(const uint8_t* block, int64_t stride, int32_t i, int bits) {
  return (block[i % stride] >> ((i / stride) * bits)) & ((1 << bits) - 1);
}

// Compresses one plane (`src`: chunk_tokens working rows) into `o` (PlaneBytes bytes).
void CompressPlane(const KvChunkShape& s, const PlaneCode& code, const uint8_t* src,
                   int32_t n_valid, uint8_t* o) {
  const int64_t row_bytes = s.kv_dim * (s.type == DType::kF16 ? 2 : 4);
  const size_t values = static_cast<size_t>(n_valid) * s.kv_dim;
  std::vector<float> x(values);
  for (int32_t t = 0; t < n_valid; ++t) {
    for (int32_t c = 0; c < s.kv_dim; ++c)
      x[t * static_cast<size_t>(s.kv_dim) + c] = Load(s.type, src + t * row_bytes, c);
  }
  std::vector<uint8_t> is_outlier(values, 0);
  const std::vector<uint16_t> outliers =
      ChooseOutliers(x, n_valid, s.kv_dim, code.outliers, is_outlier);
  std::vector<float> lo(s.kv_dim, INFINITY), hi(s.kv_dim, -INFINITY);
  for (int32_t t = 0; t < n_valid; ++t) {
    const size_t row = static_cast<size_t>(t) * s.kv_dim;
    for (int32_t c = 0; c < s.kv_dim; ++c) {
      if (is_outlier[row + c]) continue;
      lo[c] = std::min(lo[c], x[row + c]);
      hi[c] = std::max(hi[c], x[row + c]);
    }
  }
  for (int32_t c = 0; c < s.kv_dim; ++c) {
    if (!(lo[c] <= hi[c])) lo[c] = hi[c] = 0.0f;  // no valid token
  }
  const PlaneParams p = FitPlaneParams(lo, hi, code.bits);
  std::memcpy(o, &p.min_base, 2);
  std::memcpy(o + 2, &p.min_step, 2);
  std::memcpy(o + 4, &p.scale_top, 2);
  o += kPlaneHeaderBytes;
  std::memcpy(o, p.min_code.data(), s.kv_dim);
  std::memcpy(o + s.kv_dim, p.scale_code.data(), s.kv_dim);
  o += 2LL * s.kv_dim;
  for (int64_t i = 0; i < code.outliers; ++i) {
    const bool used = i < static_cast<int64_t>(outliers.size());
    const uint16_t pos = used ? outliers[i] : kNoOutlier;
    const uint16_t h = used ? FloatToHalf(x[pos]) : 0;
    std::memcpy(o + 2 * i, &pos, 2);
    std::memcpy(o + 2 * code.outliers + 2 * i, &h, 2);
  }
  o += 4 * code.outliers;
  const int64_t code_row = CodeRowBytes(s.kv_dim, code.bits);
  std::vector<uint8_t> q(s.kv_dim);
  for (int32_t t = 0; t < n_valid; ++t) {
    for (int32_t c = 0; c < s.kv_dim; ++c) {
      q[c] = static_cast<uint8_t>(
          Code(x[t * static_cast<size_t>(s.kv_dim) + c], p.min[c], p.scale[c], code.bits));
    }
    PackRow(q.data(), s.kv_dim, code.bits, o + t * code_row);
  }
}

struct Decoders {
  kv_internal::DecodeRowFn row = kv_internal::DecodeRowPortable;
  bool simd = false;
};

const Decoders& BestDecoders() {
  static const Decoders d = [] {
    Decoders r;
#if defined(ODLM_KV_HAVE_AVX2)
    const CpuFeatures& f = GetCpuFeatures();
    if (f.avx2 && f.f16c) {
      r.row = kv_internal::DecodeRowAvx2;
      r.simd = true;
    }
#endif
    return r;
  }();
  return d;
}

// Decodes one plane into chunk_tokens working rows (rows past n_valid zeroed).
void DecompressPlane(const KvChunkShape& s, const PlaneCode& code, const uint8_t* in,
                     int32_t n_valid, uint8_t* dst, kv_internal::DecodeRowFn decode_row,
                     PlaneParams& p) {
  const int64_t row_bytes = s.kv_dim * (s.type == DType::kF16 ? 2 : 4);
  std::memcpy(&p.min_base, in, 2);
  std::memcpy(&p.min_step, in + 2, 2);
  std::memcpy(&p.scale_top, in + 4, 2);
  in += kPlaneHeaderBytes;
  p.min_code.assign(in, in + s.kv_dim);
  p.scale_code.assign(in + s.kv_dim, in + 2 * s.kv_dim);
  in += 2LL * s.kv_dim;
  ExpandParams(p, s.kv_dim);
  const uint8_t* outliers = in;
  in += 4 * code.outliers;
  const int64_t code_row = CodeRowBytes(s.kv_dim, code.bits);
  const RowParams rp{p.scale.data(), p.min.data()};
  for (int32_t t = 0; t < n_valid; ++t) {
    decode_row(rp, in + t * code_row, code.bits, s.kv_dim, s.type, dst + t * row_bytes);
  }
  std::memset(dst + n_valid * row_bytes, 0, (s.chunk_tokens - n_valid) * row_bytes);
  const int64_t valid_values = static_cast<int64_t>(n_valid) * s.kv_dim;
  for (int64_t i = 0; i < code.outliers; ++i) {
    uint16_t pos, h;
    std::memcpy(&pos, outliers + 2 * i, 2);
    std::memcpy(&h, outliers + 2 * code.outliers + 2 * i, 2);
    if (pos == kNoOutlier || pos >= valid_values) continue;  // unused, or a row not decoded
    Store(s.type, dst, pos, HalfToFloat(h));  // exact: an f16 value converts back to itself
  }
}

void Decompress(const KvChunkShape& s, KvLevel level, std::span<const uint8_t> in, int32_t n_valid,
                void* working, const Decoders& dec) {
  CHECK_EQ(static_cast<int64_t>(in.size()), s.compressed_bytes(level));
  CHECK(n_valid >= 0 && n_valid <= s.chunk_tokens);
  auto* dst = static_cast<uint8_t*>(working);
  if (level == KvLevel::kRaw) {
    std::memcpy(dst, in.data(), in.size());
    return;
  }
  const int64_t plane_bytes =
      static_cast<int64_t>(s.chunk_tokens) * s.kv_dim * (s.type == DType::kF16 ? 2 : 4);
  const bool simd = dec.simd && s.kv_dim % kBlock == 0;
  const auto decode_row = simd ? dec.row : kv_internal::DecodeRowPortable;
  const PlaneCode k = PlaneCodeFor(s, level, false), v = PlaneCodeFor(s, level, true);
  PlaneParams scratch;
  const uint8_t* p = in.data();
  for (int32_t l = 0; l < s.n_layer; ++l) {
    DecompressPlane(s, k, p, n_valid, dst + l * plane_bytes, decode_row, scratch);
    p += PlaneBytes(s, k);
    DecompressPlane(s, v, p, n_valid, dst + (s.n_layer + l) * plane_bytes, decode_row, scratch);
    p += PlaneBytes(s, v);
  }
}

}  // namespace

namespace kv_internal {

void DecodeRowPortable(const RowParams& p, const uint8_t* codes, int bits, int32_t kv_dim,
                       DType type, uint8_t* out) {
  for (int32_t b = 0; b < kv_dim; b += kBlock) {
    const int32_t n = std::min(kBlock, kv_dim - b);
    const int64_t stride = BlockBytes(n, bits);
    for (int32_t i = 0; i < n; ++i) {
      const float q = static_cast<float>(Unpack(codes, stride, i, bits));
      Store(type, out, b + i, p.min[b + i] + p.scale[b + i] * q);
    }
    codes += stride;
  }
}

}  // namespace kv_internal

std::string_view KvLevelName(KvLevel level) {
  switch (level) {
    case KvLevel::kRaw:
      return "raw";
    case KvLevel::k8:
      return "8-bit";
    case KvLevel::k4:
      return "4-bit";
    case KvLevel::k2:
      return "2-bit";
  }
  return "?";
}

int KvLevelBits(KvLevel level) { return level == KvLevel::kRaw ? 0 : static_cast<int>(level); }

int KvLevelKeyBits(KvLevel level) {
  return level == KvLevel::kRaw ? 0 : level == KvLevel::k8 ? 8 : 4;
}

int KvLevelValueBits(KvLevel level) { return KvLevelBits(level); }

int KvLevelOutlierPermille(KvLevel level, bool value_plane) {
  switch (level) {
    case KvLevel::kRaw:
    case KvLevel::k8:
      return 0;
    case KvLevel::k4:
      return value_plane ? 10 : 40;
    case KvLevel::k2:
      return value_plane ? 30 : 40;
  }
  return 0;
}

int64_t KvChunkShape::working_bytes() const {
  const int64_t elem = type == DType::kF16 ? 2 : 4;
  return 2LL * n_layer * chunk_tokens * kv_dim * elem;
}

int64_t KvChunkShape::compressed_bytes(KvLevel level) const {
  if (level == KvLevel::kRaw) return working_bytes();
  return static_cast<int64_t>(n_layer) * (PlaneBytes(*this, PlaneCodeFor(*this, level, false)) +
                                          PlaneBytes(*this, PlaneCodeFor(*this, level, true)));
}

void CompressKvChunk(const KvChunkShape& s, KvLevel level, const void* working, int32_t n_valid,
                     std::span<uint8_t> out) {
  CHECK_EQ(static_cast<int64_t>(out.size()), s.compressed_bytes(level));
  CHECK(n_valid >= 0 && n_valid <= s.chunk_tokens);
  const auto* src = static_cast<const uint8_t*>(working);
  if (level == KvLevel::kRaw) {
    std::memcpy(out.data(), src, out.size());
    return;
  }
  const int64_t plane_bytes =
      static_cast<int64_t>(s.chunk_tokens) * s.kv_dim * (s.type == DType::kF16 ? 2 : 4);
  std::memset(out.data(), 0, out.size());  // deterministic bytes (checksums) past n_valid
  const PlaneCode k = PlaneCodeFor(s, level, false), v = PlaneCodeFor(s, level, true);
  uint8_t* o = out.data();
  for (int32_t l = 0; l < s.n_layer; ++l) {
    CompressPlane(s, k, src + l * plane_bytes, n_valid, o);
    o += PlaneBytes(s, k);
    CompressPlane(s, v, src + (s.n_layer + l) * plane_bytes, n_valid, o);
    o += PlaneBytes(s, v);
  }
  CHECK_EQ(o - out.data(), static_cast<int64_t>(out.size()));
}

void DecompressKvChunk(const KvChunkShape& s, KvLevel level, std::span<const uint8_t> in,
                       int32_t n_valid, void* working) {
  Decompress(s, level, in, n_valid, working, BestDecoders());
}

void DecompressKvChunkPortable(const KvChunkShape& s, KvLevel level, std::span<const uint8_t> in,
                               int32_t n_valid, void* working) {
  Decompress(s, level, in, n_valid, working, Decoders{});
}

}  // namespace odlm
