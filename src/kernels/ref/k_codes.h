// kernels/ref/k_codes.h — where each weight's code and sub-block scale live in a K-quant
// super-block (internal to kernels/ref).
//
// A super-block holds 256 weights. For element e of a Q2_K/Q3_K/Q6_K block the sub-block (16
// weights) is e / 16; for Q4_K/Q5_K the sub-block (32 weights) is e / 32. The codes are spread over
// bytes so that SIMD code can decode 32 or 64 weights with one shift and mask; these helpers
// unpack them to one int per element (and pack them back, for the quantizers), in the clearest
// form rather than the fastest.
#pragma once

#include <cstdint>
#include <cstring>

#include "tensor/block_layouts.h"

namespace odlm::kernels::ref {

// Q2_K: 2-bit codes 0..3. Element e = 128h + 32j + l lives in bits 2j of qs[32h + l].
inline void UnpackCodesQ2K(const BlockQ2_K& b, int q[256]) {
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    q[e] = (b.qs[32 * h + l] >> (2 * j)) & 3;
  }
}
inline void PackCodesQ2K(const uint8_t q[256], BlockQ2_K* b) {
  std::memset(b->qs, 0, sizeof(b->qs));
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    b->qs[32 * h + l] |= static_cast<uint8_t>((q[e] & 3) << (2 * j));
  }
}

// Q3_K: codes -4..3: the 2 low bits as in Q2_K, plus bit (4h + j) of hmask[l]; a clear high bit
// means 4 is subtracted.
inline void UnpackCodesQ3K(const BlockQ3_K& b, int q[256]) {
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    const int low = (b.qs[32 * h + l] >> (2 * j)) & 3;
    const bool high = (b.hmask[l] >> (4 * h + j)) & 1;
    q[e] = low - (high ? 0 : 4);
  }
}
// q: codes -4..3.
inline void PackCodesQ3K(const int8_t q[256], BlockQ3_K* b) {
  std::memset(b->qs, 0, sizeof(b->qs));
  std::memset(b->hmask, 0, sizeof(b->hmask));
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    const int u = q[e] + 4;  // 0..7
    b->qs[32 * h + l] |= static_cast<uint8_t>((u & 3) << (2 * j));
    if (u & 4) b->hmask[l] |= static_cast<uint8_t>(1 << (4 * h + j));
  }
}
// Q3_K scales: 16 signed 6-bit values stored as value + 32: low nibbles in bytes 0..7 (sub-blocks
// 0..7 low half, 8..15 high half), the top 2 bits of sub-block i in byte 8 + i % 4 at bit 2*(i/4).
inline void PackScalesQ3K(const int8_t sc[16], uint8_t s[12]) {
  std::memset(s, 0, 12);
  for (int i = 0; i < 16; ++i) {
    const int u = sc[i] + 32;  // 0..63
    if (i < 8) {
      s[i] |= static_cast<uint8_t>(u & 0x0f);
    } else {
      s[i - 8] |= static_cast<uint8_t>((u & 0x0f) << 4);
    }
    s[8 + i % 4] |= static_cast<uint8_t>(((u >> 4) & 3) << (2 * (i / 4)));
  }
}

// Q4_K: 4-bit codes. Element e = 64c + l: low nibble of qs[32c + l] for l < 32, else the high
// nibble of qs[32c + l - 32].
inline void UnpackCodesQ4K(const uint8_t* qs, int q[256]) {
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, l = e % 64;
    q[e] = l < 32 ? (qs[32 * c + l] & 0x0f) : (qs[32 * c + l - 32] >> 4);
  }
}
inline void PackCodesQ4K(const uint8_t q[256], uint8_t* qs) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] =
          static_cast<uint8_t>((q[64 * c + l] & 0x0f) | ((q[64 * c + 32 + l] & 0x0f) << 4));
    }
  }
}
// Q5_K: the Q4_K nibble plus bit (e / 32) of qh[e % 32] as the 5th bit.
inline void UnpackCodesQ5K(const BlockQ5_K& b, int q[256]) {
  UnpackCodesQ4K(b.qs, q);
  for (int e = 0; e < 256; ++e) q[e] |= ((b.qh[e % 32] >> (e / 32)) & 1) << 4;
}
inline void PackCodesQ5K(const uint8_t q[256], BlockQ5_K* b) {
  PackCodesQ4K(q, b->qs);
  std::memset(b->qh, 0, sizeof(b->qh));
  for (int e = 0; e < 256; ++e)
    b->qh[e % 32] |= static_cast<uint8_t>(((q[e] >> 4) & 1) << (e / 32));
}
// Q4_K / Q5_K scales: 8 6-bit scales and 8 6-bit mins in 12 bytes: bytes 0..3 hold scales 0..3
// (low 6 bits) and the top 2 bits of scales 4..7; bytes 4..7 the same for mins; bytes 8..11 hold
// the low nibbles of scale (low half) and min (high half) of sub-blocks 4..7.
inline void PackScaleMinK4(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12]) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4));
  }
}

// Q6_K: 6-bit codes 0..63 (value uses q - 32). Element e = 128h + 32k + l: the low 4 bits are the
// low (k even) or high (k >= 2) nibble of ql[64h + 32(k % 2) + l], the top 2 bits are bits 2k of
// qh[32h + l].
inline void UnpackCodesQ6K(const BlockQ6_K& b, int q[256]) {
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t lo = b.ql[64 * h + 32 * (k % 2) + l];
    const int low = k < 2 ? (lo & 0x0f) : (lo >> 4);
    const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
    q[e] = low | (high << 4);
  }
}
inline void PackCodesQ6K(const uint8_t q[256], BlockQ6_K* b) {
  std::memset(b->ql, 0, sizeof(b->ql));
  std::memset(b->qh, 0, sizeof(b->qh));
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    b->ql[64 * h + 32 * (k % 2) + l] |= static_cast<uint8_t>((q[e] & 0x0f) << (k < 2 ? 0 : 4));
    b->qh[32 * h + l] |= static_cast<uint8_t>(((q[e] >> 4) & 3) << (2 * k));
  }
}

}  // namespace odlm::kernels::ref
