// platform/huge_page_memory.h — anonymous memory that starts on a 2 MiB boundary and is advised
// for transparent huge pages.
//
// For data streamed once per generated token (model weights read into memory, repacked weight
// copies, a bandwidth probe's buffer): with 2 MiB pages a pass walks ~500× fewer page-table
// entries, which on virtual machines (nested paging) is worth up to 1.6× in decode
// (docs/PERFORMANCE.md). The advice is best effort: with THP off the memory works the same on
// 4 KiB pages. The memory is zero-filled, private to the process, and freed with the object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/status.h"

namespace odlm {

class HugePageMemory {
 public:
  // `bytes` (> 0) of zeroed, writable memory. Unavailable (with the OS reason) when the OS
  // refuses it.
  static StatusOr<std::unique_ptr<HugePageMemory>> Allocate(size_t bytes);
  ~HugePageMemory();
  HugePageMemory(const HugePageMemory&) = delete;
  HugePageMemory& operator=(const HugePageMemory&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // From here on the memory can only be read (a stray write faults instead of corrupting it).
  void MakeReadOnly();

 private:
  HugePageMemory(void* region, size_t region_size, uint8_t* data, size_t size)
      : region_(region), region_size_(region_size), data_(data), size_(size) {}
  void* region_;
  size_t region_size_;
  uint8_t* data_;
  size_t size_;
};

}  // namespace odlm
