// platform/file_util.h — whole-file reads and the one crash-safe way odlm replaces a file.
//
// Every file odlm writes in place of an older one (models, adapters, checkpoints, key lists, KV
// chunk files, exports) goes through AtomicFile: the bytes go to a temporary file beside the
// target, which is made durable and renamed over it, so a reader or a crash sees the old file or
// the whole new one, never a mix. Errors carry the path and the OS reason (NotFound for a missing
// directory, Unavailable otherwise).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace odlm {

// Reads the whole file into a string. NotFound / Unavailable with the path and OS reason.
StatusOr<std::string> ReadFileToString(const std::string& path);

class AtomicFile {
 public:
  struct Options {
    unsigned mode = 0644;  // of the new file, from its creation on (0600: never readable by others)
    // fdatasync instead of fsync before the rename (the data, not every metadata field).
    bool data_sync_only = false;
    // fsync the directory after the rename, so the rename itself survives a power loss. A caller
    // replacing many files in one directory may sync it once itself (SyncDirectory).
    bool sync_directory = true;
  };

  // Creates the temporary file "<path>.tmp.<pid>.<n>" (O_EXCL: a name no other writer holds).
  static StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path, Options options);
  static StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path) {
    return Create(path, Options{});
  }
  // Not committed: closes and removes the temporary file; the target is untouched.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends n bytes (short writes and EINTR retried).
  Status Append(const void* data, size_t n);
  Status Append(std::string_view s) { return Append(s.data(), s.size()); }
  // Makes what was appended durable (fsync, or fdatasync with data_sync_only). Commit does it too;
  // call it first to act on the synced file before it is renamed (posix_fadvise on fd()).
  Status Sync();
  // Syncs (unless nothing was appended since Sync), closes (a failing close is an error: the
  // data may not be stored), renames over the target, and syncs the directory when the options
  // say so. On any error the temporary file is removed and the target keeps its old contents.
  // Call at most once.
  Status Commit();

  // The open temporary file, for advice calls (posix_fadvise) before Commit; -1 after it.
  int fd() const { return fd_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  AtomicFile(std::string path, std::string tmp, int fd, Options options)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), options_(options) {}
  void Abandon();

  std::string path_, tmp_;
  int fd_ = -1;
  bool synced_ = false;  // nothing appended since the last Sync
  Options options_;
};

// Writes `contents` to `path` through AtomicFile (default options).
Status WriteFileAtomically(const std::string& path, std::string_view contents);

// The directory part of `path` ("." when it has none, "/" for a file in the root).
std::string DirectoryOf(const std::string& path);
// fsyncs the directory `dir`, so that renames and creations in it survive a power loss.
Status SyncDirectory(const std::string& dir);

bool FileExists(const std::string& path);

}  // namespace odlm
