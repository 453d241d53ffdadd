// kv/chunk_store.cc — chunk files (see header). POSIX I/O: open/pread/pwrite/fdatasync/rename.
#include "kv/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/check.h"
#include "platform/file_util.h"

namespace odlm {
namespace {

constexpr char kMagic[4] = {'O', 'K', 'V', 'C'};
// 2: row-major chunk layout; 3: per-channel planes with outliers (kv_quant.h).
constexpr uint32_t kVersion = 3;
constexpr int64_t kHeaderBytes = 64;
constexpr int64_t kAlign = 4096;

// Header layout (little-endian, 64 bytes):
//   0 magic[4] | 4 u32 version | 8 u64 context | 16 i32 chunk | 20 u32 generation
//  24 u8 level | 25 pad[3]      | 28 i32 n_valid | 32 u64 token_hash | 40 u64 payload_bytes
//  48 u64 payload_checksum      | 56 u64 header_checksum (of bytes 0..55)
struct Header {
  char magic[4];
  uint32_t version;
  uint64_t context;
  int32_t chunk;
  uint32_t generation;
  uint8_t level;
  uint8_t pad[3];
  int32_t n_valid;
  uint64_t token_hash;
  uint64_t payload_bytes;
  uint64_t payload_checksum;
  uint64_t header_checksum;
};
static_assert(sizeof(Header) == kHeaderBytes, "chunk file header must be 64 bytes");

Status OsError(const std::string& what, const std::string& path, int err) {
  return UnavailableError(what + " '" + path + "': " + std::strerror(err));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct AlignedFree {
  void operator()(uint8_t* p) const { std::free(p); }
};

}  // namespace

uint64_t Checksum64(std::span<const uint8_t> bytes, uint64_t seed) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (seed * 0xC2B2AE3D27D4EB4FULL) ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0x100000001B3ULL * 0x9E3779B1ULL;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) {
    h = (h ^ bytes[i]) * 0x100000001B3ULL;
    h ^= h >> 31;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  return h;
}

uint64_t TokenPrefixHash(std::span<const int32_t> tokens) {
  return Checksum64({reinterpret_cast<const uint8_t*>(tokens.data()), tokens.size() * 4}, 7);
}

StatusOr<std::unique_ptr<ChunkStore>> ChunkStore::Open(const std::string& dir, bool direct_io) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create swap directory '" + dir + "': " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) {
    return InvalidArgumentError("swap directory '" + dir + "' is not a directory");
  }
  return std::unique_ptr<ChunkStore>(new ChunkStore(dir, direct_io));
}

std::string ChunkStore::PathOf(const ChunkFileId& id) const {
  char name[96];
  std::snprintf(name, sizeof(name), "/%016llx-c%05d.kv",
                static_cast<unsigned long long>(id.context), id.chunk);
  // One name per chunk: a rewrite replaces the file atomically (rename), so no stale generations
  // pile up; the generation in the header tells a reader whether it got the version it expects.
  return dir_ + name;
}

Status ChunkStore::Write(const ChunkFileId& id, std::span<const uint8_t> payload) {
  Header h{};
  std::memcpy(h.magic, kMagic, 4);
  h.version = kVersion;
  h.context = id.context;
  h.chunk = id.chunk;
  h.generation = id.generation;
  h.level = id.level;
  h.n_valid = id.n_valid;
  h.token_hash = id.token_hash;
  h.payload_bytes = payload.size();
  h.payload_checksum = Checksum64(payload);
  h.header_checksum = Checksum64({reinterpret_cast<const uint8_t*>(&h), kHeaderBytes - 8});
  // The directory is synced in batches by the caller (SyncDir), not after every chunk.
  AtomicFile::Options options;
  options.data_sync_only = true;
  options.sync_directory = false;
  ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(PathOf(id), options));
  RETURN_IF_ERROR(file->Append(&h, kHeaderBytes));
  RETURN_IF_ERROR(file->Append(payload.data(), payload.size()));
  RETURN_IF_ERROR(file->Sync());
  // Clean pages can now be dropped: later reads must come from the storage.
  ::posix_fadvise(file->fd(), 0, 0, POSIX_FADV_DONTNEED);
  RETURN_IF_ERROR(file->Commit());
  bytes_written_ += kHeaderBytes + static_cast<int64_t>(payload.size());
  return Status::Ok();
}

Status ChunkStore::SyncDir() {
  Fd d;
  d.fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0) return OsError("cannot open swap directory", dir_, errno);
  if (::fsync(d.fd) != 0) return OsError("cannot sync swap directory", dir_, errno);
  return Status::Ok();
}

Status ChunkStore::Read(const ChunkFileId& id, std::span<uint8_t> payload) {
  const std::string path = PathOf(id);
  Fd f;
  bool direct = false;
  if (direct_io_) {
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
    direct = f.fd >= 0;
  }
  if (f.fd < 0) f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) {
    if (errno == ENOENT) return NotFoundError("chunk file '" + path + "' is missing");
    return OsError("cannot open chunk file", path, errno);
  }
  direct_io_active_ = direct;
  const int64_t want = kHeaderBytes + static_cast<int64_t>(payload.size());
  const int64_t cap = (want + kAlign - 1) / kAlign * kAlign + kAlign;  // room to see extra bytes
  std::unique_ptr<uint8_t, AlignedFree> buf(static_cast<uint8_t*>(std::aligned_alloc(kAlign, cap)));
  CHECK(buf != nullptr);
  int64_t got = 0;
  while (got < cap) {
    const ssize_t r = ::pread(f.fd, buf.get() + got, static_cast<size_t>(cap - got), got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && direct && got == 0 && errno == EINVAL) {  // O_DIRECT refused at read time
      ::close(f.fd);
      f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (f.fd < 0) return OsError("cannot open chunk file", path, errno);
      direct = false;
      continue;
    }
    if (r < 0) return OsError("cannot read chunk file", path, errno);
    if (r == 0) break;
    got += r;
  }
  bytes_read_ += got;
  if (!direct) ::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED);
  auto loss = [&](const std::string& what) {
    return DataLossError("chunk file '" + path + "': " + what + "; the chunk will be recomputed");
  };
  if (got < kHeaderBytes) return loss("truncated header (" + std::to_string(got) + " bytes)");
  Header h;
  std::memcpy(&h, buf.get(), kHeaderBytes);
  if (std::memcmp(h.magic, kMagic, 4) != 0) return loss("bad magic at byte 0");
  if (h.header_checksum !=
      Checksum64({reinterpret_cast<const uint8_t*>(&h), static_cast<size_t>(kHeaderBytes - 8)})) {
    return loss("header checksum mismatch (bytes 0..55)");
  }
  if (h.version != kVersion) return loss("format version " + std::to_string(h.version));
  if (h.context != id.context || h.chunk != id.chunk || h.generation != id.generation ||
      h.level != id.level || h.n_valid != id.n_valid || h.token_hash != id.token_hash) {
    return loss("stale: header describes generation " + std::to_string(h.generation) +
                ", expected " + std::to_string(id.generation) + " of these tokens");
  }
  if (h.payload_bytes != payload.size()) {
    return loss("payload of " + std::to_string(h.payload_bytes) + " bytes, expected " +
                std::to_string(payload.size()));
  }
  if (got != want) {
    return loss("file holds " + std::to_string(got) + " bytes, expected " + std::to_string(want));
  }
  std::memcpy(payload.data(), buf.get() + kHeaderBytes, payload.size());
  if (Checksum64(payload) != h.payload_checksum) return loss("payload checksum mismatch");
  return Status::Ok();
}

void ChunkStore::Remove(const ChunkFileId& id) { ::unlink(PathOf(id).c_str()); }

}  // namespace odlm
