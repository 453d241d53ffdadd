// kv/kv_quant_rows.h — the row decoders behind DecompressKvChunk (kv_quant.cc), one portable and
// one AVX2+F16C (kv_quant_avx2.cc, compiled with those flags only on x86-64). Internal to kv/.
//
// A row decode turns one row of packed codes into kv_dim working values with per-channel
// scale/min (K and V planes alike). `out` is one working row ([kv_dim] F16 or F32). Both variants
// compute min + scale·q as an unfused float product and sum and round to f16 to nearest even, so
// they agree bit for bit.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace odlm::kv_internal {

// Per-channel parameters of one plane, already expanded to float: [kv_dim] each.
struct RowParams {
  const float* scale;
  const float* min;
};

using DecodeRowFn = void (*)(const RowParams& p, const uint8_t* codes, int bits, int32_t kv_dim,
                             DType type, uint8_t* out);

void DecodeRowPortable(const RowParams& p, const uint8_t* codes, int bits, int32_t kv_dim,
                       DType type, uint8_t* out);

#if defined(__x86_64__) || defined(_M_X64)
#define ODLM_KV_HAVE_AVX2 1
// kv_dim must be a multiple of 32.
void DecodeRowAvx2(const RowParams& p, const uint8_t* codes, int bits, int32_t kv_dim, DType type,
                   uint8_t* out);
#endif

}  // namespace odlm::kv_internal
