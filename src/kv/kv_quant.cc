// kv/kv_quant.cc — group-wise asymmetric quantization of KV chunks (our own format, see header).
#include "kv/kv_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <vector>

#include "base/check.h"
#include "kv/kv_quant_rows.h"
#include "platform/cpu_features.h"
#include "tensor/half.h"

namespace odlm {
namespace {

using kv_internal::KRowParams;

constexpr int32_t kBlock = 32;  // channels per code block (and per V group)

int64_t BlockBytes(int32_t n, int bits) { return (static_cast<int64_t>(n) * bits + 7) / 8; }

// Bytes of one row of kv_dim packed codes.
int64_t CodeRowBytes(int32_t kv_dim, int bits) {
  int64_t bytes = 0;
  for (int32_t b = 0; b < kv_dim; b += kBlock)
    bytes += BlockBytes(std::min(kBlock, kv_dim - b), bits);
  return bytes;
}

int32_t Groups(int32_t kv_dim) { return (kv_dim + kKvValueGroup - 1) / kKvValueGroup; }

int64_t KPlaneBytes(const KvChunkShape& s, int bits) {
  return 4LL * s.kv_dim + s.chunk_tokens * CodeRowBytes(s.kv_dim, bits);
}
int64_t VRowBytes(const KvChunkShape& s, int bits) {
  return 4LL * Groups(s.kv_dim) + CodeRowBytes(s.kv_dim, bits);
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

// The f16 scale and minimum of a group with values in [lo, hi], and the float reciprocal of the
// scale the codes are computed with (against the f16-rounded values the decoder will see).
struct GroupParams {
  uint16_t scale_h = 0, min_h = 0;
  float scale = 0, min = 0, inv = 0;
};

GroupParams MakeParams(float lo, float hi, int bits) {
  GroupParams g;
  if (!(lo <= hi)) lo = hi = 0.0f;  // empty group
  const int max_code = (1 << bits) - 1;
  g.min_h = FloatToHalf(lo);
  g.min = HalfToFloat(g.min_h);
  const float range = hi - g.min;
  g.scale_h = FloatToHalf(range > 0 ? range / max_code : 0.0f);
  g.scale = HalfToFloat(g.scale_h);
  // f16 rounding down could push the top code past max_code: nudge the scale up one ulp.
  if (g.scale > 0 && range / g.scale > max_code + 0.5f) g.scale_h = FloatToHalf(g.scale * 1.001f);
  g.scale = HalfToFloat(g.scale_h);
  g.inv = g.scale > 0 ? 1.0f / g.scale : 0.0f;
  return g;
}

// Nearest code, ties up (clamped first, so the truncation rounds a non-negative value).
inline int Code(float v, const GroupParams& g, int bits) {
  const float x = std::clamp((v - g.min) * g.inv, 0.0f, static_cast<float>((1 << bits) - 1));
  return static_cast<int>(x + 0.5f);
}

// Params with exactly this minimum and step (f16-rounded), codes clamped to the range.
GroupParams ParamsFromMinScale(float min, float scale) {
  GroupParams g;
  g.min_h = FloatToHalf(min);
  g.min = HalfToFloat(g.min_h);
  g.scale_h = FloatToHalf(std::max(scale, 0.0f));
  g.scale = HalfToFloat(g.scale_h);
  g.inv = g.scale > 0 ? 1.0f / g.scale : 0.0f;
  return g;
}

// Squared error of x[0..n) coded with g.
double Sse(const float* x, int32_t n, const GroupParams& g, int bits) {
  double e = 0;
  for (int32_t i = 0; i < n; ++i) {
    const double d = x[i] - (g.min + g.scale * static_cast<float>(Code(x[i], g, bits)));
    e += d * d;
  }
  return e;
}

// The params of a group x[0..n): min-max for 8 bits; for 4 and 2 bits the least-squared-error of
// min-max, ranges narrowed to 95%..55% of it (anchored low, centred or high: outliers are clipped
// when that lowers the error of the rest), and a least-squares refit of min and step to the best
// candidate's codes. Never worse than min-max (a candidate). Cost: ~30 passes over the group.
GroupParams FitParams(const float* x, int32_t n, int bits) {
  float lo = INFINITY, hi = -INFINITY;
  for (int32_t i = 0; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  GroupParams best = MakeParams(lo, hi, bits);
  if (bits >= 8 || n < 2 || !(hi > lo)) return best;
  double best_err = Sse(x, n, best, bits);
  const float range = hi - lo;
  auto consider = [&](const GroupParams& g) {
    const double e = Sse(x, n, g, bits);
    if (e < best_err) best_err = e, best = g;
  };
  for (int step = 1; step <= 8; ++step) {
    const float keep = 1.0f - 0.05f * static_cast<float>(step), cut = range * (1.0f - keep);
    for (float anchor : {0.0f, 0.5f, 1.0f}) {
      const float l = lo + anchor * cut;
      consider(MakeParams(l, l + keep * range, bits));
    }
  }
  // Least-squares min and step for the best codes: x ≈ min + step·q.
  double sq = 0, sqq = 0, sx = 0, sxq = 0;
  for (int32_t i = 0; i < n; ++i) {
    const double q = Code(x[i], best, bits);
    sq += q, sqq += q * q, sx += x[i], sxq += x[i] * q;
  }
  const double den = n * sqq - sq * sq;
  if (den > 0) {
    const double step = (n * sxq - sq * sx) / den;
    if (step > 0)
      consider(
          ParamsFromMinScale(static_cast<float>((sx - step * sq) / n), static_cast<float>(step)));
  }
  return best;
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

struct Decoders {
  kv_internal::DecodeKRowFn k = kv_internal::DecodeKRowPortable;
  kv_internal::DecodeVRowFn v = kv_internal::DecodeVRowPortable;
  bool simd = false;
};

const Decoders& BestDecoders() {
  static const Decoders d = [] {
    Decoders r;
#if defined(ODLM_KV_HAVE_AVX2)
    const CpuFeatures& f = GetCpuFeatures();
    if (f.avx2 && f.f16c) {
      r.k = kv_internal::DecodeKRowAvx2;
      r.v = kv_internal::DecodeVRowAvx2;
      r.simd = true;
    }
#endif
    return r;
  }();
  return d;
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
  const int bits = KvLevelBits(level);
  const int64_t elem = s.type == DType::kF16 ? 2 : 4;
  const int64_t row_bytes = s.kv_dim * elem;
  const int64_t plane_bytes = s.chunk_tokens * row_bytes;
  const int64_t code_row = CodeRowBytes(s.kv_dim, bits), v_row = VRowBytes(s, bits);
  const bool simd = dec.simd && s.kv_dim % kBlock == 0;
  const auto decode_k = simd ? dec.k : kv_internal::DecodeKRowPortable;
  const auto decode_v = simd ? dec.v : kv_internal::DecodeVRowPortable;
  std::vector<float> params(2 * static_cast<size_t>(s.kv_dim));  // [2][kv_dim]: scale, min
  const KRowParams kp{params.data(), params.data() + s.kv_dim};
  const uint8_t* p = in.data();
  for (int32_t l = 0; l < s.n_layer; ++l) {
    uint8_t* k = dst + l * plane_bytes;
    uint8_t* v = dst + (s.n_layer + l) * plane_bytes;
    for (int32_t i = 0; i < 2 * s.kv_dim; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      params[i] = HalfToFloat(h);
    }
    const uint8_t* codes = p + 4LL * s.kv_dim;
    for (int32_t t = 0; t < n_valid; ++t) {
      decode_k(kp, codes + t * code_row, bits, s.kv_dim, s.type, k + t * row_bytes);
    }
    p += KPlaneBytes(s, bits);
    for (int32_t t = 0; t < n_valid; ++t) {
      decode_v(p + t * v_row, bits, s.kv_dim, s.type, v + t * row_bytes);
    }
    p += s.chunk_tokens * v_row;
    std::memset(k + n_valid * row_bytes, 0, (s.chunk_tokens - n_valid) * row_bytes);
    std::memset(v + n_valid * row_bytes, 0, (s.chunk_tokens - n_valid) * row_bytes);
  }
}

}  // namespace

namespace kv_internal {

void DecodeKRowPortable(const KRowParams& p, const uint8_t* codes, int bits, int32_t kv_dim,
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

void DecodeVRowPortable(const uint8_t* row, int bits, int32_t kv_dim, DType type, uint8_t* out) {
  const int32_t n_groups = Groups(kv_dim);
  const uint8_t* codes = row + 4 * n_groups;
  for (int32_t g = 0; g < n_groups; ++g) {
    uint16_t sh, mh;
    std::memcpy(&sh, row + 2 * g, 2);
    std::memcpy(&mh, row + 2 * (n_groups + g), 2);
    const float scale = HalfToFloat(sh), min = HalfToFloat(mh);
    const int32_t b = g * kKvValueGroup, n = std::min(kKvValueGroup, kv_dim - b);
    const int64_t stride = BlockBytes(n, bits);
    for (int32_t i = 0; i < n; ++i) {
      Store(type, out, b + i, min + scale * static_cast<float>(Unpack(codes, stride, i, bits)));
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

int64_t KvChunkShape::working_bytes() const {
  const int64_t elem = type == DType::kF16 ? 2 : 4;
  return 2LL * n_layer * chunk_tokens * kv_dim * elem;
}

int64_t KvChunkShape::compressed_bytes(KvLevel level) const {
  if (level == KvLevel::kRaw) return working_bytes();
  const int bits = KvLevelBits(level);
  return static_cast<int64_t>(n_layer) *
         (KPlaneBytes(*this, bits) + chunk_tokens * VRowBytes(*this, bits));
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
  const int bits = KvLevelBits(level);
  const int64_t elem = s.type == DType::kF16 ? 2 : 4;
  const int64_t row_bytes = s.kv_dim * elem;
  const int64_t plane_bytes = s.chunk_tokens * row_bytes;
  const int64_t code_row = CodeRowBytes(s.kv_dim, bits);
  std::memset(out.data(), 0, out.size());  // deterministic bytes (checksums) past n_valid
  std::vector<float> kx(static_cast<size_t>(s.kv_dim) * s.chunk_tokens), vx(kKvValueGroup);
  std::vector<GroupParams> g(s.kv_dim);
  std::vector<uint8_t> q(s.kv_dim);
  uint8_t* o = out.data();
  for (int32_t l = 0; l < s.n_layer; ++l) {
    const uint8_t* k = src + l * plane_bytes;
    const uint8_t* v = src + (s.n_layer + l) * plane_bytes;
    // K: one group per channel over the valid tokens.
    for (int32_t t = 0; t < n_valid; ++t) {  // kx: [kv_dim, n_valid], channel-major
      for (int32_t ch = 0; ch < s.kv_dim; ++ch) {
        kx[ch * s.chunk_tokens + t] = Load(s.type, k + t * row_bytes, ch);
      }
    }
    for (int32_t ch = 0; ch < s.kv_dim; ++ch) {
      g[ch] = FitParams(kx.data() + ch * s.chunk_tokens, n_valid, bits);
      std::memcpy(o + 2 * ch, &g[ch].scale_h, 2);
      std::memcpy(o + 2 * (s.kv_dim + ch), &g[ch].min_h, 2);
    }
    uint8_t* codes = o + 4LL * s.kv_dim;
    for (int32_t t = 0; t < n_valid; ++t) {
      for (int32_t ch = 0; ch < s.kv_dim; ++ch) {
        q[ch] = static_cast<uint8_t>(Code(kx[ch * s.chunk_tokens + t], g[ch], bits));
      }
      PackRow(q.data(), s.kv_dim, bits, codes + t * code_row);
    }
    o += KPlaneBytes(s, bits);
    // V: per token, one group per 32 channels.
    const int32_t n_groups = Groups(s.kv_dim);
    for (int32_t t = 0; t < n_valid; ++t) {
      const uint8_t* row = v + t * row_bytes;
      uint8_t* vo = o + t * VRowBytes(s, bits);
      for (int32_t gi = 0; gi < n_groups; ++gi) {
        const int32_t b = gi * kKvValueGroup, n = std::min(kKvValueGroup, s.kv_dim - b);
        for (int32_t i = 0; i < n; ++i) vx[i] = Load(s.type, row, b + i);
        const GroupParams gp = FitParams(vx.data(), n, bits);
        std::memcpy(vo + 2 * gi, &gp.scale_h, 2);
        std::memcpy(vo + 2 * (n_groups + gi), &gp.min_h, 2);
        for (int32_t i = 0; i < n; ++i) {
          q[b + i] = static_cast<uint8_t>(Code(vx[i], gp, bits));
        }
      }
      PackRow(q.data(), s.kv_dim, bits, vo + 4 * n_groups);
    }
    o += s.chunk_tokens * VRowBytes(s, bits);
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
