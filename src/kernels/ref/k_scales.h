// kernels/ref/k_scales.h — the 6-bit scale / min packing of Q4_K and Q5_K blocks: the one home of
// that bit layout for every kernel (scalar references, NEON, AVX2, AVX-512; the packing side is
// k_codes.h's PackScaleMinK4).
//
// Internal linkage on purpose (`static`): files compiled with ISA flags (-mavx512f …) include
// this, and an inline function with external linkage compiled there could be the one copy the
// linker keeps for generic code, which would then fault on a CPU without those instructions.
#pragma once

#include <cstdint>

namespace odlm::kernels::ref {

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K scales[12] array.
static inline void UnpackScaleMinK4(const uint8_t* s, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

}  // namespace odlm::kernels::ref
