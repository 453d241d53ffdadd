// odlm/context_memory.h — many persistent contexts' KV under one global memory budget (LLMS).
//
// A context is a named token history (an app's conversation) whose KV the engine keeps across
// calls. ContextMemory owns every context's KV and decides, by policy, what stays in memory:
//
//   llms       (default) KV in chunks of 16 tokens spanning all layers (but sliding-window
//              ones, see below), compressed per chunk to a level by tolerance (attention
//              received) to `compression_ratio` of 8-bit — 8-bit keys and values, 4-bit both, or
//              4-bit keys and 2-bit values, per channel with exact outliers (kv/kv_quant.h);
//              dirty chunks written to `swap_dir` right after each call (ahead of time),
//              so eviction (LCTRU order) only drops clean memory; on a switch, missing chunks are
//              partly read and partly recomputed (overlapped), the split planned from measured
//              cost models (kv/restore_planner.h: the recomputed chunks are the earliest missing
//              ones, which attend only to chunks before them, so no recompute waits for a read
//              and the reads overlap the whole recompute, not one layer at a time).
//   recompute  whole contexts kept fp16 while they fit; an evicted context is re-prefilled.
//   swap       whole contexts kept fp16 while they fit; an evicted one is written to swap_dir
//              uncompressed and read back whole on a switch.
//   resident   no budget: every context's fp16 KV stays in memory.
//
// Usage (one call of an app on context "app/ctx"):
//   ASSIGN_OR_RETURN(Session* s, memory->Acquire("app/ctx"));   // pins + restores the KV
//   ... Generate(engine, *s, prompt, ...) ...                    // the usual generation API
//   RETURN_IF_ERROR(memory->Release("app/ctx"));                 // compress, write ahead, unpin
//
// Budget: `budget_bytes` bounds the KV *stored* for contexts — compressed chunks (llms) or the
// fp16 caches of contexts not in use (baselines) — after every Acquire and Release. The working
// fp16 cache of a context between Acquire and Release is reported apart (stats().working_bytes):
// every policy needs exactly one such cache per context in use. llms (keep_warm) leaves the last
// released context's working cache in place until the next Acquire of another context, which
// frees it before restoring: the number of working caches never exceeds the most ever acquired at
// once, and a follow-up call on the same context (a conversation going on) restores nothing.
//
// Sliding-window models (gemma2/gemma3, phi3 with a window): chunks hold the full-context layers
// only; the windowed layers' K/V of the last `window` tokens (KvCache::ExportWindowTail) is kept
// per context in memory, uncompressed, counted in the stored bytes and never evicted (swap writes
// it with the context). A restore that would recompute any chunk — or that lacks the tail, as
// after a restart (it is not written to swap_dir) — recomputes the whole context instead: a
// windowed layer's K/V at a position depends on the window before it, which is gone.
//
// Durability (llms with swap_dir): chunk files are checksummed and renamed into place; each
// context's manifest (tokens, chunk table, attention statistics) is written atomically after
// every Release, so the contexts survive kill -9 and a restart of the service (Open reloads
// them). A missing, stale or corrupt chunk file is detected and the chunk recomputed.
//
// Thread-safety: all methods are safe to call concurrently (one internal mutex); the Session
// returned by Acquire belongs to the caller until Release. Several contexts may be acquired at
// once (batching), all pinned.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "kv/chunk_store.h"
#include "kv/kv_quant.h"
#include "kv/restore_planner.h"
#include "odlm/engine.h"

namespace odlm {

enum class KvPolicy { kLlms, kRecompute, kSwap, kResident };
std::string_view KvPolicyName(KvPolicy p);             // "llms", "recompute", "swap", "resident"
StatusOr<KvPolicy> ParseKvPolicy(std::string_view s);  // InvalidArgument lists the choices

struct ContextMemoryOptions {
  KvPolicy policy = KvPolicy::kLlms;
  int64_t budget_bytes = 0;  // 0: unlimited (kResident ignores it)
  std::string swap_dir;      // "": no disk (llms then recomputes evicted chunks)
  // llms: target size as a fraction of all-8-bit, the quality knob (docs/PERFORMANCE.md has the
  // trade-off); below the lowest level's size (~0.57 of 8-bit) every chunk takes that level.
  double compression_ratio = 0.6;
  bool compress = true;            // llms: false keeps chunks as raw fp16 (bit-exact restore)
  int32_t keep_sink_chunks = 1;    // llms: first chunks (attention sinks) always 8-bit
  int32_t keep_recent_chunks = 1;  // llms: newest chunks always 8-bit
  bool direct_io = true;           // read swap files with O_DIRECT where possible
  // llms: the most recently released context keeps its fp16 working cache (reported in
  // working_bytes, outside the budget) until another context is acquired, so a follow-up call on
  // the same context restores nothing and sees its KV as computed, not as compressed.
  bool keep_warm = true;
  bool measure_costs = true;    // time reads and recompute at Open (else `cost_model`)
  RestoreCostModel cost_model;  // used when measure_costs is false
};

struct ContextMemoryStats {
  int64_t stored_bytes = 0;       // bounded by the budget
  int64_t peak_stored_bytes = 0;  // the most ever stored after any step
  int64_t working_bytes = 0;      // fp16 caches of contexts in use
  int64_t bytes_read = 0, bytes_written = 0;
  int64_t chunks_resident = 0, chunks_read = 0, chunks_recomputed = 0, chunks_corrupt = 0;
  int64_t tokens_recomputed = 0;
  int64_t evictions = 0;
};

// What the last Acquire did.
struct RestoreInfo {
  int64_t tokens = 0;
  int64_t chunks_resident = 0, chunks_read = 0, chunks_recomputed = 0, chunks_corrupt = 0;
  bool warm = false;  // llms: the working cache still held the context (nothing restored)
  double predicted_s = 0, seconds = 0;
};

class ContextMemory {
 public:
  // Opens the store; with a swap_dir, reloads the contexts whose manifests are there (a corrupt
  // manifest is skipped with a warning). The engine must outlive this object.
  static StatusOr<std::unique_ptr<ContextMemory>> Open(Engine* engine,
                                                       const ContextMemoryOptions& options);
  ~ContextMemory();

  std::vector<std::string> List() const;
  bool Contains(const std::string& key) const;
  // Pins the context (a new key starts empty) and restores its KV; the session holds its tokens
  // and a complete KV cache until Release. FailedPrecondition if already acquired.
  StatusOr<Session*> Acquire(const std::string& key);
  // Ends the use: folds attention into chunk tolerance, compresses changed chunks, writes dirty
  // ones and the manifest (llms), unpins, and evicts until the budget holds.
  Status Release(const std::string& key);
  // Forgets the context and its files. FailedPrecondition while acquired.
  Status Delete(const std::string& key);

  ContextMemoryStats stats() const;
  RestoreInfo last_restore() const;
  const RestoreCostModel& cost_model() const { return cost_; }
  const ContextMemoryOptions& options() const { return options_; }
  // Tokens of the context whose KV is in memory now, at any precision (llms: the tokens of its
  // resident chunks, or all of them while acquired or warm; baselines: all of them while its fp16
  // cache is held). 0 for an unknown key.
  int64_t CachedTokens(const std::string& key) const;
  // Chunk levels of a context (llms; for tests and reports): one entry per chunk.
  std::vector<KvLevel> ChunkLevels(const std::string& key) const;

 private:
  struct Chunk;
  struct Context;
  ContextMemory(Engine* engine, const ContextMemoryOptions& options);
  Status MeasureCosts();
  Status LoadManifests();
  Status SaveManifest(const Context& c);
  Context* Find(const std::string& key);
  ChunkFileId DiskId(const Context& c, int32_t index) const;
  int64_t StoredBytesLocked() const;
  void Note();
  // Evicts unpinned KV (LCTRU for llms, LRU contexts otherwise) until stored + extra ≤ budget.
  // Returns false when that is impossible without touching pinned contexts.
  bool MakeRoom(int64_t extra);
  Status RestoreLlms(Context& c, RestoreInfo* info);
  Status RestoreWhole(Context& c, RestoreInfo* info);
  Status ReleaseLlms(Context& c);
  Status RecomputeChunks(Context& c, const std::vector<int32_t>& chunks);
  // Recomputes a context's whole KV into its cleared cache (sliding-window models' fallback).
  Status RecomputeWhole(Context& c, RestoreInfo* info);
  // Frees the warm working cache unless it belongs to `keep`.
  void DropWarm(const Context* keep);

  Engine* engine_;
  ContextMemoryOptions options_;
  KvChunkShape shape_;     // a chunk's main storage: the full-context layers
  bool windowed_ = false;  // sessions have sliding-window layers (contexts carry window tails)
  std::unique_ptr<ChunkStore> store_;
  // llms: the threads a restore reads and decodes on (the caller + kRestoreReadThreads), started
  // once at Open.
  std::unique_ptr<ThreadPool> restore_pool_;
  RestoreCostModel cost_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Context>> contexts_;
  uint64_t clock_ = 0;
  Context* warm_ = nullptr;  // llms: released, working cache still complete (keep_warm)
  ContextMemoryStats stats_;
  RestoreInfo last_;
};

}  // namespace odlm
