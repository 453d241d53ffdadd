// platform/cpu_features.h — what the CPU we run on can do, detected once.
//
// Kernels pick their variant from this at start-up, so one x86-64 binary runs on machines with
// and without AVX-512. ODLM_CPU=scalar|avx2|avx512 (x86) or scalar|neon|dotprod
// (AArch64; neon = Advanced SIMD without the dot product) in the environment caps the detected
// level, for tests and benchmarks of each variant on one machine.
#pragma once

#include <string>

namespace odlm {

struct CpuFeatures {
  // x86
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avxvnni = false;
  // ARM
  bool neon = false;
  bool dotprod = false;

  std::string ToString() const;  // "avx2 fma f16c avx512f ..." (what is on)
};

// Detected once (thread-safe) and capped by ODLM_CPU.
const CpuFeatures& GetCpuFeatures();

}  // namespace odlm
