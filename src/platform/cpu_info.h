// platform/cpu_info.h — what CPU a measurement ran on: its model name and cache sizes (Linux:
// /proc/cpuinfo and /sys/devices/system/cpu/cpu0/cache), for benchmark records.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace odlm {

struct CpuInfo {
  std::string model;  // "AMD EPYC 9654 96-Core Processor"; "" when unknown
  int32_t logical_cpus = 0;
  // Per-core data caches and the last level, in bytes (0: unknown).
  int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;

  // "AMD EPYC 9654 (2 CPUs; L1d 32 KiB, L2 1 MiB, L3 32 MiB)".
  std::string ToString() const;
};

// Read once (thread-safe). Fields the system does not say stay empty / 0.
const CpuInfo& GetCpuInfo();

// Parsers of the files GetCpuInfo reads (exposed for tests).
// The first "model name" (x86) or "Model" / "Hardware" (ARM) value of a /proc/cpuinfo text, and
// its count of "processor" entries.
void ParseProcCpuinfo(std::string_view text, CpuInfo* info);
// A sysfs cache size ("32K", "32768K", "1M", "512"): bytes, or 0 when malformed.
int64_t ParseCacheSize(std::string_view text);

}  // namespace odlm
