// codi/synth.h — `odlm codi synth`: many conversations in parallel into one crash-safe JSONL file.
//
// Conversation indices 0 … n-1 are split across shards by index % shard_count == shard_index, so N
// shards given the same graph, documents, seed and n write disjoint files whose union is exactly a
// single run's output. A pool of `concurrency` workers runs whole conversations (each with its own
// keep-alive connections); finished records go to a writer thread that appends them to the output
// and fsyncs in batches (every `batch_lines` records or `batch_seconds`, and at the end). Each
// record is one complete line, so after a crash only the last line can be torn.
//
// Resume (`resume`): the existing output is scanned, a torn last line (no final newline, or not
// valid JSON) is cut off, and every index already recorded (ok or failed) is skipped. A record from
// another run (different seed, teacher model, graph or document set, or an index outside this
// shard or >= n) is refused with its line. With `retry_failed`, the failed records are dropped from
// the file (rewritten crash-safely; a crash then leaves them missing, which a resume redoes) and
// their conversations run again under the same indices, so every index is still written once.
// Without `resume`, an existing non-empty output is refused so that nothing is appended by mistake.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "codi/conversation.h"
#include "codi/graph.h"
#include "codi/teacher.h"

namespace odlm::codi {

struct SynthOptions {
  std::string out_path;
  uint64_t n = 0;  // conversations in the whole run (all shards)
  uint64_t seed = 0;
  uint64_t shard_index = 0, shard_count = 1;
  int concurrency = 8;
  bool resume = false;
  bool retry_failed = false;  // with resume: run the recorded failures again (see above)
  // What the run is made with, written into every record and checked on resume: the teacher
  // model's name and FNV-1a hashes (16 hex digits) of the graph and document files' bytes. Empty
  // fields are neither written nor checked (records of older files lack the hashes: accepted).
  std::string teacher_model, graph_hash, docs_hash;
  RetryPolicy retry;
  int batch_lines = 64;
  double batch_seconds = 2.0;
  // Progress line on stderr every `progress_seconds` (0: none); '\r'-updated on a terminal.
  double progress_seconds = 1.0;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop early, resumably
};

struct SynthSummary {
  uint64_t planned = 0;  // this shard's conversations
  uint64_t already = 0;  // found in the output on resume
  uint64_t ok = 0, failed = 0;
  uint64_t interrupted = 0;  // not written (stop requested); a resume redoes them
  uint64_t retried = 0;      // recorded failures dropped and run again (retry_failed)
  uint64_t torn_bytes = 0;   // cut from the end of the output on resume
  std::map<std::string, uint64_t> failed_by_reason;  // this run's failures ("teacher_error", …)
  uint64_t requests = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double seconds = 0;
  double teacher_seconds = 0;            // summed over requests
  std::vector<EndpointStats> endpoints;  // each teacher endpoint's requests, failures, circuit
};

// What an existing output holds (for resume). Cuts a torn tail when `repair` is true.
struct ExistingOutput {
  std::set<uint64_t> indices;  // every recorded conversation
  std::set<uint64_t> failed;   // of which recorded as failed
  uint64_t torn_bytes = 0;
};
StatusOr<ExistingOutput> ScanOutput(const std::string& path, const SynthOptions& o, bool repair);

// Parses "k/N" (0 <= k < N).
Status ParseShard(const std::string& spec, uint64_t* index, uint64_t* count);

StatusOr<SynthSummary> RunSynth(const Graph& g, const std::vector<Document>& docs,
                                TeacherPool* pool, const SynthOptions& o);

// One line of totals, then a line per teacher endpoint ("  teacher URL: R requests, F failed,
// circuit opened K times, now closed").
std::string FormatSummary(const SynthSummary& s);

}  // namespace odlm::codi
