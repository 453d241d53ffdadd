// kv/kv_quant.cc — group-wise asymmetric quantization of KV chunks (our own format, see header).
#include "kv/kv_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "tensor/half.h"

namespace odlm {
namespace {

int64_t CodeBytes(int64_t n, int bits) { return (n * bits + 7) / 8; }

int64_t KGroupBytes(const KvChunkShape& s, int bits) { return 4 + CodeBytes(s.chunk_tokens, bits); }

int64_t VRowBytes(const KvChunkShape& s, int bits) {
  int64_t bytes = 0;
  for (int32_t g = 0; g < s.kv_dim; g += kKvValueGroup) {
    bytes += 4 + CodeBytes(std::min(kKvValueGroup, s.kv_dim - g), bits);
  }
  return bytes;
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

// Quantizes n values x[0], x[stride], ... (element indices into a working plane) into
// [f16 scale][f16 min][codes]; returns the bytes written.
int64_t QuantizeGroup(DType type, const uint8_t* plane, int64_t first, int64_t stride, int64_t n,
                      int bits, uint8_t* out) {
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    const float v = Load(type, plane, first + i * stride);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (n == 0) lo = hi = 0.0f;
  const int max_code = (1 << bits) - 1;
  // The decoder sees the f16-rounded minimum and scale: quantize against exactly those.
  const uint16_t min_h = FloatToHalf(lo);
  const float min_f = HalfToFloat(min_h);
  const float range = hi - min_f;
  uint16_t scale_h = FloatToHalf(range > 0 ? range / max_code : 0.0f);
  float scale_f = HalfToFloat(scale_h);
  // f16 rounding down could push the top code past max_code: nudge the scale up one ulp.
  if (scale_f > 0 && range / scale_f > max_code + 0.5f) scale_h = FloatToHalf(scale_f * 1.001f);
  scale_f = HalfToFloat(scale_h);
  std::memcpy(out, &scale_h, 2);
  std::memcpy(out + 2, &min_h, 2);
  uint8_t* codes = out + 4;
  const int64_t code_bytes = CodeBytes(n, bits);
  std::memset(codes, 0, code_bytes);
  const float inv = scale_f > 0 ? 1.0f / scale_f : 0.0f;
  const int per_byte = 8 / bits;
  for (int64_t i = 0; i < n; ++i) {
    const float v = Load(type, plane, first + i * stride);
    int q = static_cast<int>(std::lround((v - min_f) * inv));
    q = std::clamp(q, 0, max_code);
    codes[i / per_byte] |= static_cast<uint8_t>(q << ((i % per_byte) * bits));
  }
  return 4 + code_bytes;
}

int64_t DequantizeGroup(DType type, const uint8_t* in, int64_t n, int bits, uint8_t* plane,
                        int64_t first, int64_t stride) {
  uint16_t scale_h, min_h;
  std::memcpy(&scale_h, in, 2);
  std::memcpy(&min_h, in + 2, 2);
  const float scale = HalfToFloat(scale_h), min_f = HalfToFloat(min_h);
  const uint8_t* codes = in + 4;
  const int per_byte = 8 / bits, mask = (1 << bits) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const int q = (codes[i / per_byte] >> ((i % per_byte) * bits)) & mask;
    Store(type, plane, first + i * stride, min_f + scale * static_cast<float>(q));
  }
  return 4 + CodeBytes(n, bits);
}

}  // namespace

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
         (kv_dim * KGroupBytes(*this, bits) + chunk_tokens * VRowBytes(*this, bits));
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
  const int64_t plane_bytes = static_cast<int64_t>(s.chunk_tokens) * s.kv_dim * elem;
  const int64_t k_group = KGroupBytes(s, bits), v_row = VRowBytes(s, bits);
  std::memset(out.data(), 0, out.size());  // deterministic bytes (checksums) past short groups
  uint8_t* o = out.data();
  for (int32_t l = 0; l < s.n_layer; ++l) {
    const uint8_t* k = src + l * plane_bytes;
    const uint8_t* v = src + (s.n_layer + l) * plane_bytes;
    for (int32_t ch = 0; ch < s.kv_dim; ++ch) {  // K: per channel over the valid tokens
      QuantizeGroup(s.type, k, ch, s.kv_dim, n_valid, bits, o);
      o += k_group;
    }
    for (int32_t t = 0; t < s.chunk_tokens; ++t) {  // V: per token, groups of channels
      if (t >= n_valid) {
        std::memset(o, 0, v_row);
        o += v_row;
        continue;
      }
      for (int32_t g = 0; g < s.kv_dim; g += kKvValueGroup) {
        o += QuantizeGroup(s.type, v, static_cast<int64_t>(t) * s.kv_dim + g, 1,
                           std::min(kKvValueGroup, s.kv_dim - g), bits, o);
      }
    }
  }
  CHECK_EQ(o - out.data(), static_cast<int64_t>(out.size()));
}

void DecompressKvChunk(const KvChunkShape& s, KvLevel level, std::span<const uint8_t> in,
                       int32_t n_valid, void* working) {
  CHECK_EQ(static_cast<int64_t>(in.size()), s.compressed_bytes(level));
  CHECK(n_valid >= 0 && n_valid <= s.chunk_tokens);
  auto* dst = static_cast<uint8_t*>(working);
  if (level == KvLevel::kRaw) {
    std::memcpy(dst, in.data(), in.size());
    return;
  }
  const int bits = KvLevelBits(level);
  const int64_t elem = s.type == DType::kF16 ? 2 : 4;
  const int64_t plane_bytes = static_cast<int64_t>(s.chunk_tokens) * s.kv_dim * elem;
  const int64_t k_group = KGroupBytes(s, bits), v_row = VRowBytes(s, bits);
  const uint8_t* p = in.data();
  for (int32_t l = 0; l < 2 * s.n_layer; ++l) {
    std::memset(dst + l * plane_bytes + n_valid * s.kv_dim * elem, 0,
                (s.chunk_tokens - n_valid) * s.kv_dim * elem);
  }
  for (int32_t l = 0; l < s.n_layer; ++l) {
    uint8_t* k = dst + l * plane_bytes;
    uint8_t* v = dst + (s.n_layer + l) * plane_bytes;
    for (int32_t ch = 0; ch < s.kv_dim; ++ch) {
      DequantizeGroup(s.type, p, n_valid, bits, k, ch, s.kv_dim);
      p += k_group;
    }
    for (int32_t t = 0; t < s.chunk_tokens; ++t) {
      if (t >= n_valid) {
        p += v_row;
        continue;
      }
      for (int32_t g = 0; g < s.kv_dim; g += kKvValueGroup) {
        p += DequantizeGroup(s.type, p, std::min(kKvValueGroup, s.kv_dim - g), bits, v,
                             static_cast<int64_t>(t) * s.kv_dim + g, 1);
      }
    }
  }
}

}  // namespace odlm
