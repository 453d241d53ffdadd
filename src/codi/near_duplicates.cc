// codi/near_duplicates.cc — MinHash/LSH near-duplicates and distinct-n (contract in
// near_duplicates.h).
#include "codi/near_duplicates.h"

#include <algorithm>
#include <limits>

#include "base/hash.h"
#include "codi/turn_check.h"

namespace odlm::codi {
namespace {

constexpr int kRowsPerBand = NearDuplicateIndex::kHashes / NearDuplicateIndex::kBands;

// Hashes of the word n-grams of `words` (the words themselves when there are fewer than n).
std::vector<uint64_t> NgramHashes(const std::vector<std::string>& words, int n) {
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  const int len = std::min<int>(n, static_cast<int>(words.size()));
  for (size_t i = 0; i + len <= words.size(); ++i) {
    uint64_t h = Fnv1a64("");
    for (int k = 0; k < len; ++k) {
      h = Fnv1a64(words[i + k], h);
      h = Fnv1a64(" ", h);
    }
    out.push_back(h);
  }
  return out;
}

}  // namespace

std::vector<uint64_t> MinHashSignature(std::string_view text) {
  const std::vector<uint64_t> shingles = NgramHashes(LowerWords(std::string(text)), 3);
  if (shingles.empty()) return {};
  std::vector<uint64_t> sig(NearDuplicateIndex::kHashes, std::numeric_limits<uint64_t>::max());
  for (const uint64_t s : shingles) {
    for (int i = 0; i < NearDuplicateIndex::kHashes; ++i) {
      sig[i] = std::min(sig[i], Mix64(s ^ SplitMix64(static_cast<uint64_t>(i) + 1)));
    }
  }
  return sig;
}

int64_t NearDuplicateIndex::Add(std::string_view text) {
  Signature sig = MinHashSignature(text);
  const int64_t id = static_cast<int64_t>(signatures_.size());
  int64_t found = -1;
  if (!sig.empty()) {
    const int need = static_cast<int>(threshold_ * kHashes + 0.999999);
    std::vector<uint64_t> keys(kBands);
    for (int b = 0; b < kBands && found < 0; ++b) {
      uint64_t key = static_cast<uint64_t>(b);
      for (int r = 0; r < kRowsPerBand; ++r) key = Mix64(key ^ sig[b * kRowsPerBand + r]);
      keys[b] = key;
      const auto it = buckets_[b].find(key);
      if (it == buckets_[b].end()) continue;
      for (const int64_t other : it->second) {
        const Signature& o = signatures_[other];
        int agree = 0;
        for (int i = 0; i < kHashes; ++i) agree += o[i] == sig[i];
        if (agree >= need) {
          found = other;
          break;
        }
      }
    }
    if (found < 0) {
      for (int b = 0; b < kBands; ++b) buckets_[b][keys[b]].push_back(id);
    }
  }
  // A duplicate keeps no signature of its own: later texts match the original instead.
  signatures_.push_back(found < 0 ? std::move(sig) : Signature());
  return found;
}

void DistinctCounter::Add(std::string_view text) {
  const std::vector<std::string> words = LowerWords(std::string(text));
  if (static_cast<int>(words.size()) < n_) return;
  for (const uint64_t h : NgramHashes(words, n_)) {
    ++ngrams_;
    seen_.insert(h);
  }
}

}  // namespace odlm::codi
