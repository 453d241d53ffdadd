// model/model_weights.h — binds a GGUF file's tensors to the roles of a Llama-family model.
//
// Fused tensors (phi3's attn_qkv and gate-up ffn_up) are bound as row ranges of the stored matrix,
// so the forward pass sees the same separate Q/K/V and gate/up views as for every other model.
// Weight matrices stay memory-mapped in their stored block type (zero-copy views into the file).
// Small 1-D tensors (norms, biases, rope factors) are converted to owned f32 copies at load.
// The GgufFile must outlive the ModelWeights.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/gguf_reader.h"
#include "kernels/matmul.h"
#include "model/model_config.h"

namespace odlm {

struct LayerWeights {
  std::vector<float> attn_norm;   // [n_embd]
  kernels::WeightMatrix wq;       // [q_dim rows, n_embd cols]
  kernels::WeightMatrix wk;       // [kv_dim, n_embd]
  kernels::WeightMatrix wv;       // [kv_dim, n_embd]
  kernels::WeightMatrix wo;       // [n_embd, q_dim]
  std::vector<float> bq, bk, bv;  // [q_dim], [kv_dim], [kv_dim]; empty when the model has none
  std::vector<float> ffn_norm;    // [n_embd]
  kernels::WeightMatrix w_gate;   // [n_ff, n_embd]
  kernels::WeightMatrix w_up;     // [n_ff, n_embd]
  kernels::WeightMatrix w_down;   // [n_embd, n_ff]
  // Optional by architecture (empty when the config's feature is off):
  std::vector<float> q_norm, k_norm;  // [head_dim] each: config.qk_norm
  std::vector<float> post_attn_norm;  // [n_embd]: config.post_norms
  std::vector<float> post_ffn_norm;   // [n_embd]: config.post_norms
};

struct ModelWeights {
  kernels::WeightMatrix token_embd;  // [n_vocab rows, n_embd cols]
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // [n_embd]
  kernels::WeightMatrix output;    // [n_vocab, n_embd]; token_embd when tied
  bool tied_output = false;
  int64_t bytes = 0;  // bytes of all bound tensor data (what one decode step reads)
};

// Binds every tensor the architecture needs, checking names, shapes and block types. A model
// with missing tensors gets one error listing all of them.
StatusOr<ModelWeights> BindModelWeights(const GgufFile& file, ModelConfig* config);

}  // namespace odlm
