// codi/walk.h — the blueprint of one conversation: a walk of the graph's Markov chain, with the
// phenomenon each turn is asked to show.
//
// Everything random in CoDi comes from a counter-based generator keyed by (seed, conversation
// index, stream), so conversation i is the same whatever the shard, the concurrency, or how often
// the run was resumed. SampleWalk is a pure function; thread-safe; O(length * links).
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include "base/hash.h"

#include "codi/graph.h"

namespace odlm::codi {

// Mix64 (SplitMix64's finalizer) is base/hash.h's.

// A counter-based generator: value k of the stream is Mix64(key + (k + 1) * golden gamma), with
// key = Mix64(Mix64(seed ^ Mix64(index)) ^ stream). Copyable, no shared state.
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t index, uint64_t stream);
  uint64_t Next();
  double Uniform();  // [0, 1) with 53 random bits
  // An index drawn from `weights` (non-negative, sum > 0), by inverse CDF.
  size_t Pick(const std::vector<double>& weights);

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

// Streams of one conversation's randomness (stable values: changing them changes every output).
enum RngStream : uint64_t {
  kStreamWalk = 1,
  kStreamTeacherSeed = 2,   // + turn index * 16
  kStreamSeedExamples = 3,  // + turn index * 16
};

struct Walk {
  std::vector<int> links;      // [length] link ids
  std::vector<int> phenomena;  // [length] index into the link's phenomena, -1 for none
};

Walk SampleWalk(const Graph& g, uint64_t seed, uint64_t index);

// The phenomenon name of turn t, or "" for none.
std::string PhenomenonName(const Graph& g, const Walk& w, size_t t);

}  // namespace odlm::codi
