// world/rng.h — the synthetic world's only source of randomness: SplitMix64 (Steele, Lea, Flood
// 2014), with integer-only draws so that a seed gives the same world on every platform and
// compiler (no std::*_distribution, no floating point in any choice).
//
// Header-only; an Rng is a value (copy it to fork a stream). Not thread-safe (use one per thread).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/hash.h"

namespace odlm::world {

// FNV-1a over the bytes, then mixed: a stable 64-bit hash of a string (for seeding from content).
// Mix64, Fnv1a64 and the SplitMix64 stream are base/hash.h's.
inline uint64_t HashString(std::string_view s) { return Mix64(Fnv1a64(s)); }

class Rng {
 public:
  explicit Rng(uint64_t seed) : stream_{seed} {}

  uint64_t Next() { return stream_.Next(); }
  // Uniform in [0, n) (modulo bias below n / 2^64: irrelevant here, and platform-independent).
  uint64_t Below(uint64_t n) {
    CHECK(n > 0);
    return Next() % n;
  }
  // Uniform in [lo, hi], both included.
  int64_t Range(int64_t lo, int64_t hi) {
    CHECK(lo <= hi);
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability percent / 100.
  bool Percent(int percent) { return static_cast<int>(Below(100)) < percent; }

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    CHECK(!v.empty());
    return v[Below(v.size())];
  }
  // Fisher-Yates, from the back.
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[Below(i)]);
  }
  // An independent stream keyed by `salt` (does not advance this one).
  Rng Fork(uint64_t salt) const {
    return Rng(Mix64(stream_.state ^ Mix64(salt + 0x632BE59BD9B4E019ULL)));
  }

 private:
  SplitMix64Stream stream_;
};

}  // namespace odlm::world
