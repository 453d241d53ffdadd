// model_gen/model_generator.h — deterministic random-weight Llama-family models (`odlm gen-model`).
//
// Writes GGUF files with llama.cpp's tensor names, shapes (GGUF order: dims[0] is the input
// dimension) and metadata keys, so they load in llama.cpp as they are:
//   token_embd.weight [n_embd, n_vocab], blk.N.{attn_norm, ffn_norm}.weight [n_embd] (f32),
//   blk.N.attn_q.weight [n_embd, n_head*hd], attn_k/attn_v [n_embd, n_head_kv*hd],
//   attn_output [n_head*hd, n_embd], ffn_gate/ffn_up [n_embd, n_ff], ffn_down [n_ff, n_embd],
//   output_norm.weight [n_embd], output.weight [n_embd, n_vocab] (llama only).
// qwen2 adds blk.N.attn_{q,k,v}.bias (f32) and ties the output layer to token_embd. phi3 fuses
// Q/K/V into blk.N.attn_qkv.weight [n_embd, q_dim + 2·kv_dim] and gate/up into
// blk.N.ffn_up.weight [n_embd, 2·n_ff] (gate rows first), as Phi-3's GGUF files do.
//
// Weights: 2-D tensors ~ N(0, 1/fan_in) (std 1/sqrt(dims[0])), norms ~ 1 + N(0, 0.1²), biases
// ~ N(0, 0.1²). Every row has its own random stream derived from (seed, tensor name, row), so the
// bytes do not depend on the thread count. Same options → identical file bytes.
// Block types: any type with a reference quantizer, or the "q4_K_M" mix (llama.cpp's recipe: Q4_K,
// with output.weight and attn_v / ffn_down of some layers in Q6_K). Rows whose length is not a
// multiple of 256 fall back (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, Q2_K/Q3_K → Q4_0) as
// llama.cpp does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/gguf_writer.h"
#include "tensor/dtype.h"

namespace odlm {

struct ModelGenOptions {
  std::string arch = "llama";  // "llama", "qwen2" or "phi3"
  int64_t n_embd = 256;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_head_kv = 0;  // 0: n_head (no GQA)
  int64_t n_ff = 768;
  int64_t n_vocab = 512;  // ignored when vocab_file is set (its token count wins)
  int64_t n_ctx = 2048;
  float rope_freq_base = 0;  // 0: the architecture's usual (llama 1e4, qwen2 1e6)
  float rms_eps = 0;         // 0: llama 1e-5, qwen2 1e-6
  std::string type =
      "f16";  // f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K q4_K_M
  uint64_t seed = 1;
  std::string vocab_file;  // vocab-only (or any) GGUF to copy tokenizer.* from; "" → built-in
  std::string name;        // general.name; "" → "odlm-random-<arch>"
};

// Sets the shape of a named preset: "tiny" (dim 256, 4 layers, 4 heads, 2 KV heads, FFN 768,
// vocab 512) or "tinyllama-1.1b" (dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocab
// 32000, ctx 2048). InvalidArgument naming the known presets otherwise.
Status ApplyModelPreset(const std::string& preset, ModelGenOptions* options);

// One tensor of a generated model.
struct GenTensorSpec {
  enum class Init { kMatrix, kNorm, kBias };
  std::string name;
  DType type;
  std::vector<int64_t> dims;  // GGUF order
  Init init;
};

// Checks the options (shape divisibility, arch, block type, vocab file) and lists the tensors
// in file order. InvalidArgument / NotFound with the offending option.
StatusOr<std::vector<GenTensorSpec>> PlanModelTensors(const ModelGenOptions& options);

// Fills `dst` (RowBytes(spec.type, dims[0]) * rows bytes) with the tensor's deterministic random
// values, quantized with the reference quantizers; rows in parallel on `pool` (may be null).
void FillGenTensor(const GenTensorSpec& spec, uint64_t seed, ThreadPool* pool, uint8_t* dst);

// Progress of writing a generated model: called by the writer's Write* calls after each tensor's
// data is produced, with the tensors and tensor bytes done so far and in all (file order; the
// calling thread of Write*). For progress displays; must not call back into the writer.
using GenProgressFn = std::function<void(int64_t tensors_done, int64_t tensors_total,
                                         uint64_t bytes_done, uint64_t bytes_total)>;

// Sets all metadata and adds every tensor (data produced when the writer writes, one tensor at
// a time). `pool` must outlive the writer's Write* calls (may be null: single-threaded), and so
// must `progress` (may be empty).
Status BuildModel(const ModelGenOptions& options, ThreadPool* pool, GgufWriter* writer,
                  GenProgressFn progress = nullptr);

// BuildModel + crash-safe write to `path` using `n_threads` threads (0: all hardware threads).
Status GenerateModel(const ModelGenOptions& options, const std::string& path, int n_threads = 0);

}  // namespace odlm
