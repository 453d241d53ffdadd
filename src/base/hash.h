// base/hash.h — the project's one home for its small, fully specified hashes and generators, so
// every seeded result (random models, LoRA dropout masks, CoDi walks, synthetic worlds, data
// fingerprints) is the same on every platform and no two copies can drift apart.
//
//   Mix64        SplitMix64's finalizer (Stafford's variant 13): a bijective 64-bit mix.
//   SplitMix64   one step of SplitMix64 from state x: Mix64(x + golden gamma).
//   SplitMix64Stream  the stateful generator: state += golden gamma, return Mix64(state).
//   Fnv1a64      FNV-1a over bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
// Pure, constexpr where possible, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace odlm {

inline constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ull;

constexpr uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr uint64_t SplitMix64(uint64_t x) { return Mix64(x + kGoldenGamma); }

struct SplitMix64Stream {
  uint64_t state;
  constexpr uint64_t Next() {
    state += kGoldenGamma;
    return Mix64(state);
  }
};

constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ull) {
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

}  // namespace odlm
