// platform/process_stats.cc — Linux /proc readers.
#include "platform/process_stats.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace odlm {
namespace {

int64_t ReadStatusKb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  int64_t kb = 0;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0) {
      long long v = 0;
      if (std::sscanf(line + key_len, " %lld", &v) == 1) kb = v;
      break;
    }
  }
  std::fclose(f);
  return kb;
}

}  // namespace

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t PeakResidentBytes() { return ReadStatusKb("VmHWM:") * 1024; }
int64_t CurrentResidentBytes() { return ReadStatusKb("VmRSS:") * 1024; }

int64_t PhysicalMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

}  // namespace odlm
