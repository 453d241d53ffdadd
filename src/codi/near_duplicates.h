// codi/near_duplicates.h — finding near-duplicate conversations among many (MinHash + LSH), and
// the distinct-n diversity measure.
//
// A text is reduced to its shingles: lower-cased word 3-grams (texts under three words: the words
// themselves). Two texts are near-duplicates when the Jaccard similarity of their shingle sets is
// at least the threshold. NearDuplicateIndex estimates it with a 64-value MinHash signature
// (Broder 1997) and finds candidates by locality-sensitive hashing over 16 bands of 4 values, so
// adding N texts costs O(N · (words + 64)) plus the candidates checked; a pair is a duplicate when
// its signatures agree in at least threshold · 64 positions. Deterministic (fixed hash seeds).
// Not thread-safe (one index per scan).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace odlm::codi {

class NearDuplicateIndex {
 public:
  static constexpr int kHashes = 64;
  static constexpr int kBands = 16;

  explicit NearDuplicateIndex(double threshold = 0.8) : threshold_(threshold) {}

  // Adds `text`; returns the index (order of adding, from 0) of an earlier text it near-duplicates,
  // or -1 when it has none (it is then a candidate for later texts). Empty texts (no words) are
  // never duplicates.
  int64_t Add(std::string_view text);

  size_t size() const { return signatures_.size(); }

 private:
  using Signature = std::vector<uint64_t>;
  double threshold_;
  std::vector<Signature> signatures_;
  std::vector<std::unordered_map<uint64_t, std::vector<int64_t>>> buckets_ =
      std::vector<std::unordered_map<uint64_t, std::vector<int64_t>>>(kBands);
};

// The MinHash signature of `text` (kHashes values; empty when it has no words).
std::vector<uint64_t> MinHashSignature(std::string_view text);

// distinct-n (Li et al. 2016): distinct lower-cased word n-grams over all n-grams of `texts`
// (0 when there are none).
struct DistinctN {
  uint64_t ngrams = 0, distinct = 0;
  double ratio() const { return ngrams ? static_cast<double>(distinct) / ngrams : 0.0; }
};
class DistinctCounter {
 public:
  explicit DistinctCounter(int n) : n_(n) {}
  void Add(std::string_view text);
  DistinctN result() const { return {ngrams_, static_cast<uint64_t>(seen_.size())}; }

 private:
  int n_;
  uint64_t ngrams_ = 0;
  std::unordered_set<uint64_t> seen_;  // n-gram hashes (64-bit; collisions negligible)
};

}  // namespace odlm::codi
