// platform/process_stats.h — clocks and memory figures of this process.
#pragma once

#include <cstdint>

namespace odlm {

// Monotonic time in nanoseconds.
int64_t MonotonicNanos();

// Peak resident set size of this process in bytes (VmHWM); 0 if unknown.
int64_t PeakResidentBytes();

// Current resident set size in bytes (VmRSS); 0 if unknown.
int64_t CurrentResidentBytes();

// Physical memory of the machine in bytes; 0 if unknown.
int64_t PhysicalMemoryBytes();

}  // namespace odlm
