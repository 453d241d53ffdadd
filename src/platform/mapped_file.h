// platform/mapped_file.h — read-only memory-mapped files.
//
// The mapping lives as long as the MappedFile; views into it (tensor data) must not outlive it.
// Pages are loaded lazily by the OS, so opening a 1 GiB model costs no reads up front.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace odlm {

class MappedFile {
 public:
  // Maps `path` read-only. NotFound for a missing file, InvalidArgument for a directory,
  // Unavailable for other OS errors; the message names the path and the OS reason.
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Hints the OS to read [offset, offset+length) ahead (MADV_WILLNEED); best effort.
  void Prefetch(size_t offset, size_t length) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace odlm
