// kv/chunk_store.h — KV chunk files in a swap directory: checksummed, written crash-safely, read
// past the page cache.
//
// One file per (context, chunk, generation): a 64-byte header (magic, format version, identity of
// the chunk, its level and valid rows, a hash of the tokens it was computed from, the payload size
// and a checksum of the payload, a checksum of the header itself) followed by the compressed
// payload. A write goes to a temporary name, is fdatasync'ed and renamed, so a crash leaves either
// no file or a whole one; a reader still verifies everything and reports a torn, truncated, stale
// or bit-flipped file as DataLoss (the caller recomputes the chunk; it never uses the bytes).
//
// Honest I/O: after writing, the file's pages are dropped from the page cache
// (posix_fadvise DONTNEED); reads use O_DIRECT where the file system supports it, so a swap-in
// costs what the storage costs, not what RAM costs.
//
// Thread-safety: Write/Read/Remove may run concurrently on different files; counters are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace odlm {

// 64-bit checksum of bytes (word-wise multiply-xorshift; detects flips, truncation, reordering).
uint64_t Checksum64(std::span<const uint8_t> bytes, uint64_t seed = 0);
// Hash of a token sequence (identifies what a chunk's KV was computed from).
uint64_t TokenPrefixHash(std::span<const int32_t> tokens);

struct ChunkFileId {
  uint64_t context = 0;     // the context's id (hash of its key)
  int32_t chunk = 0;        // chunk index in the context
  uint32_t generation = 0;  // bumps on every rewrite of this chunk
  uint8_t level = 0;        // KvLevel
  int32_t n_valid = 0;      // rows holding tokens
  uint64_t token_hash = 0;  // TokenPrefixHash of tokens [0, chunk end)
};

class ChunkStore {
 public:
  // Creates `dir` if needed. direct_io: read with O_DIRECT when the file system allows it.
  static StatusOr<std::unique_ptr<ChunkStore>> Open(const std::string& dir, bool direct_io = true);

  const std::string& dir() const { return dir_; }
  std::string PathOf(const ChunkFileId& id) const;

  // Writes the chunk crash-safely (temp file, fdatasync, rename) and drops its cached pages. The
  // rename is durable after the next SyncDir().
  Status Write(const ChunkFileId& id, std::span<const uint8_t> payload);
  // fsyncs the directory (makes renames and removals durable).
  Status SyncDir();
  // Reads the chunk into `payload` (its exact size). NotFound when absent; DataLoss when the
  // file is torn, corrupt, or not the chunk `id` describes (message names the file and field).
  Status Read(const ChunkFileId& id, std::span<uint8_t> payload);
  // Removes the chunk's file if present.
  void Remove(const ChunkFileId& id);

  int64_t bytes_written() const { return bytes_written_.load(); }
  int64_t bytes_read() const { return bytes_read_.load(); }
  bool direct_io_active() const { return direct_io_active_.load(); }

 private:
  ChunkStore(std::string dir, bool direct_io) : dir_(std::move(dir)), direct_io_(direct_io) {}
  std::string dir_;
  bool direct_io_;
  std::atomic<bool> direct_io_active_{false};
  std::atomic<int64_t> bytes_written_{0}, bytes_read_{0};
};

}  // namespace odlm
