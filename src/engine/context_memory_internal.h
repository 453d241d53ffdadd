// engine/context_memory_internal.h — ContextMemory's per-context records (shared by its .cc files).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "odlm/context_memory.h"

namespace odlm {

// llms: chunk files a restore reads at once (so that the device's per-request latency overlaps);
// the restore pool runs that many threads besides the caller.
inline constexpr int kRestoreReadThreads = 4;

struct ContextMemory::Chunk {
  KvLevel level = KvLevel::k8;     // of the in-memory copy (and of the next write)
  std::unique_ptr<uint8_t[]> mem;  // [shape_.compressed_bytes(level)] or null (evicted)
  bool dirty = false;              // mem is newer than the file
  uint64_t last_use = 0;
  int32_t n_valid = 0;  // tokens of the context in this chunk
  // The file that holds this chunk (valid when on_disk).
  bool on_disk = false;
  uint32_t generation = 0;
  KvLevel disk_level = KvLevel::k8;
  int32_t disk_valid = 0;
  uint64_t disk_hash = 0;
};

struct ContextMemory::Context {
  std::string key;
  uint64_t id = 0;
  std::unique_ptr<Session> session;  // tokens always; KV only while materialized
  bool pinned = false;
  uint64_t last_use = 0;
  std::vector<int32_t> tokens_at_acquire;
  // llms
  std::vector<Chunk> chunks;
  std::vector<float> recv_sum, recv_count;  // [n_tokens] attention received, and by how many
  // Sliding-window models: the windowed layers' K/V the next token reads, as of
  // window_tail_tokens tokens (KvCache::ExportWindowTail); -1: none.
  std::vector<uint8_t> window_tail;
  int64_t window_tail_tokens = -1;
  // baselines
  bool whole_on_disk = false;  // swap: the file holds the current KV of every token
  int64_t whole_disk_tokens = 0;
  uint32_t whole_generation = 0;
};

}  // namespace odlm
