// model/quantize_model.h — converts a model file to another block type (`odlm quantize`), as
// llama.cpp's llama-quantize does: every 2-D weight goes to the type the mix assigns it
// (model/quant_mix.h, including the row-length fallback), 1-D tensors (norms, biases) are copied
// as stored, metadata is copied with general.file_type set for the mix. The result loads in odlm
// and llama.cpp alike.
//
// Source tensors of any type with a dequantizer are read as f32 and re-encoded with the reference
// quantizers (kernels/quant.h); a tensor already in its target type is copied byte for byte.
// Deterministic: the same input and mix give the same bytes for any thread count.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "base/thread_pool.h"

namespace odlm {

struct QuantizeReport {
  int64_t tensors_converted = 0;  // re-encoded into another type
  int64_t tensors_copied = 0;     // kept as stored (1-D, or already in their target type)
  uint64_t bytes_in = 0;          // tensor data of the input
  uint64_t bytes_out = 0;         // tensor data of the output
};

// Reads `in_path`, writes `out_path` crash-safely (GgufWriter::WriteFile: nothing replaces
// out_path on error). Errors: InvalidArgument for an unknown mix, an input with a tensor whose
// type cannot be decoded, or out_path naming the input; the reader's errors for a bad file.
// `pool` may be null (one thread). Memory: one tensor in f32 at a time plus the output's bytes of
// that tensor.
StatusOr<QuantizeReport> QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                                           const std::string& mix, ThreadPool* pool);

}  // namespace odlm
