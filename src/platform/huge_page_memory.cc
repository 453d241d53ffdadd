// platform/huge_page_memory.cc — POSIX anonymous mappings, over-allocated for 2 MiB alignment.
#include "platform/huge_page_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace odlm {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
size_t RoundUpToHugePage(size_t n) { return (n + kHugePage - 1) / kHugePage * kHugePage; }
}  // namespace

StatusOr<std::unique_ptr<HugePageMemory>> HugePageMemory::Allocate(size_t bytes) {
  if (bytes == 0) return InvalidArgumentError("cannot allocate 0 bytes of huge-page memory");
  // One extra huge page so the data can start on a 2 MiB boundary.
  const size_t region_size = RoundUpToHugePage(bytes) + kHugePage;
  void* region =
      ::mmap(nullptr, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    return UnavailableError("cannot allocate " + std::to_string(bytes) +
                            " bytes of memory: " + std::strerror(errno));
  }
  auto* data = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(region) + kHugePage - 1) &
                                          ~uintptr_t{kHugePage - 1});
#ifdef MADV_HUGEPAGE
  ::madvise(data, RoundUpToHugePage(bytes), MADV_HUGEPAGE);  // best effort: THP may be off
#endif
  return std::unique_ptr<HugePageMemory>(new HugePageMemory(region, region_size, data, bytes));
}

HugePageMemory::~HugePageMemory() { ::munmap(region_, region_size_); }

void HugePageMemory::MakeReadOnly() { ::mprotect(data_, RoundUpToHugePage(size_), PROT_READ); }

}  // namespace odlm
