// fuzz/fuzz_check.h — FUZZ_CHECK(cond): the fuzz targets' invariant check. Aborts with the
// condition and its place, which libFuzzer reports as a crash with the input that caused it
// (CHECK from base/ would work too, but the targets build without the core's libraries).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
