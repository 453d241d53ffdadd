// platform/mapped_file.h — a read-only file's bytes in memory: mapped (default) or copied.
//
// The memory lives as long as the MappedFile; views into it (tensor data) must not outlive it.
// kMap: pages are loaded lazily by the OS, so opening a 1 GiB model costs no reads up front and
// the pages are shared page cache the OS may drop under pressure.
// kCopy: the file is read once into anonymous memory aligned to 2 MiB and advised for
// transparent huge pages (Linux, THP "madvise" or "always"), then made read-only. Streaming the
// weights once per token then walks ~500× fewer page-table entries — on virtual machines (nested
// paging) decode measured up to 1.6× faster (docs/PERFORMANCE.md). Costs the read at open and
// anonymous memory the OS cannot drop (it may swap it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "platform/huge_page_memory.h"

namespace odlm {

class MappedFile {
 public:
  enum class Mode { kMap, kCopy };
  // Maps (or copies, see above) `path` read-only. NotFound for a missing file, InvalidArgument for
  // a directory, Unavailable for other OS errors (including a file that shrinks while copied);
  // the message names the path and the OS reason.
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path,
                                                    Mode mode = Mode::kMap);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // kMap only (a no-op for kCopy): tells the OS this process does not need the whole pages within
  // [p, p + n) for now. They leave its resident set; the bytes stay readable and come back from
  // the file (or page cache) on the next access. For data that was copied elsewhere (repacked
  // weights). p must point into the mapping.
  void DropPages(const void* p, size_t n) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, void* region, size_t region_size,
             std::unique_ptr<HugePageMemory> copy = nullptr)
      : path_(std::move(path)),
        data_(data),
        size_(size),
        region_(region),
        region_size_(region_size),
        copy_(std::move(copy)) {}
  std::string path_;
  const uint8_t* data_;
  size_t size_;
  void* region_;                          // what to munmap (nullptr: nothing)
  size_t region_size_;                    // its length
  std::unique_ptr<HugePageMemory> copy_;  // kCopy: the bytes
};

}  // namespace odlm
