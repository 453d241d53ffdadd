// kernels/transpose_quantize.h — a weight matrix's transpose, re-quantized, for fast backward
// passes.
//
// Training through a frozen quantized base needs dx = dy·W for every weight W. The f32 path
// (kernels/matmul_float.h) dequantizes W a tile at a time and multiplies in f32; the fast path runs
// dx = dy·W as an ordinary MatMul with the transpose Wᵀ as the weight matrix — the same integer dot
// product kernels as inference (dy quantized to Q8 activations). Wᵀ is built once per training run
// from W's exactly dequantized values, quantized along W's output dimension with `type`'s
// reference quantizer (Q8_0: 1.0625 bytes per weight; its rounding error, at most half a step of
// each 32-element block's max/127, comes on top of the stored block type's).
// Cost: one pass over W, 32 rows at a time (32·cols floats of scratch per thread).
#pragma once

#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace odlm::kernels {

// True if TransposeQuantize can make Wᵀ of `w` in `type`: W's row count is a multiple of the
// type's block size and both types have reference (de)quantizers.
bool CanTransposeQuantize(const WeightMatrix& w, DType type);

// Fills `storage` with Wᵀ ([w.cols rows, w.rows cols] in `type`) and returns its view (pointing
// into storage, which must outlive it). CHECKs CanTransposeQuantize.
WeightMatrix TransposeQuantize(const WeightMatrix& w, DType type, std::vector<uint8_t>* storage,
                               ThreadPool* pool);

}  // namespace odlm::kernels
