// model/model_weights.cc — tensor name → role binding with shape checks.
#include "model/model_weights.h"

#include <cmath>
#include <string>

#include "kernels/quant.h"

namespace odlm {
namespace {

std::string ShapeString(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

class Binder {
 public:
  explicit Binder(const GgufFile& file) : file_(file) {}

  // A 2-D matrix with GGUF dims [cols, rows] (dim 0 fastest).
  kernels::WeightMatrix Matrix(const std::string& name, int64_t cols, int64_t rows) {
    kernels::WeightMatrix m{};
    const GgufTensorInfo* t = Find(name);
    if (t == nullptr) return m;
    if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows) {
      Bad(name + " has shape " + ShapeString(t->dims) + ", expected " + ShapeString({cols, rows}));
      return m;
    }
    if (!kernels::IsMatMulSupported(t->type) || !kernels::CanDequantize(t->type)) {
      Bad(name + " has block type " + std::string(DTypeName(t->type)) +
          ", which odlm cannot compute with yet");
      return m;
    }
    m.type = t->type;
    m.data = t->data;
    m.rows = rows;
    m.cols = cols;
    m.row_bytes = RowBytes(t->type, cols);
    bytes_ += static_cast<int64_t>(t->n_bytes);
    return m;
  }

  // A 1-D vector converted to f32. Absent + optional → empty vector, no error.
  std::vector<float> Vector(const std::string& name, int64_t n, bool optional = false) {
    const GgufTensorInfo* t = optional ? file_.FindTensor(name) : Find(name);
    if (t == nullptr) return {};
    if (t->n_elements != n || t->dims[0] != n) {
      Bad(name + " has shape " + ShapeString(t->dims) + ", expected [" + std::to_string(n) + "]");
      return {};
    }
    if (!kernels::CanDequantize(t->type)) {
      Bad(name + " has unsupported block type " + std::string(DTypeName(t->type)));
      return {};
    }
    std::vector<float> v(n);
    kernels::DequantizeRow(t->type, t->data, v.data(), n);
    bytes_ += static_cast<int64_t>(t->n_bytes);
    return v;
  }

  Status Finish() const {
    if (!missing_.empty()) {
      std::string m = "the model file lacks " + std::to_string(missing_.size()) +
                      " tensor(s) the architecture needs: ";
      for (size_t i = 0; i < missing_.size() && i < 20; ++i) m += (i ? ", " : "") + missing_[i];
      if (missing_.size() > 20) m += ", ...";
      return InvalidArgumentError(m);
    }
    if (!bad_.empty()) {
      std::string m;
      for (size_t i = 0; i < bad_.size(); ++i) m += (i ? "; " : "") + bad_[i];
      return InvalidArgumentError(m);
    }
    return Status::Ok();
  }
  int64_t bytes() const { return bytes_; }

 private:
  const GgufTensorInfo* Find(const std::string& name) {
    const GgufTensorInfo* t = file_.FindTensor(name);
    if (t == nullptr) missing_.push_back(name);
    return t;
  }
  void Bad(std::string why) { bad_.push_back(std::move(why)); }

  const GgufFile& file_;
  std::vector<std::string> missing_, bad_;
  int64_t bytes_ = 0;
};

// Rows [first, first + n) of `m` as a matrix of their own (m unbound: unbound).
kernels::WeightMatrix RowRange(const kernels::WeightMatrix& m, int64_t first, int64_t n) {
  kernels::WeightMatrix r = m;
  if (m.data == nullptr) return r;
  r.data = static_cast<const uint8_t*>(m.data) + first * m.row_bytes;
  r.rows = n;
  return r;
}

}  // namespace

StatusOr<ModelWeights> BindModelWeights(const GgufFile& file, ModelConfig* config) {
  const ModelConfig& c = *config;
  Binder b(file);
  ModelWeights w;
  w.token_embd = b.Matrix("token_embd.weight", c.n_embd, c.n_vocab);
  w.output_norm = b.Vector("output_norm.weight", c.n_embd);
  if (file.FindTensor("output.weight") != nullptr) {
    w.output = b.Matrix("output.weight", c.n_embd, c.n_vocab);
  } else {
    w.output = w.token_embd;  // tied embeddings (qwen2 small models, some llamas)
    w.tied_output = true;
  }
  w.layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[i];
    l.attn_norm = b.Vector(p + "attn_norm.weight", c.n_embd);
    if (c.fused_qkv) {
      const kernels::WeightMatrix qkv =
          b.Matrix(p + "attn_qkv.weight", c.n_embd, c.q_dim() + 2 * c.kv_dim());
      l.wq = RowRange(qkv, 0, c.q_dim());
      l.wk = RowRange(qkv, c.q_dim(), c.kv_dim());
      l.wv = RowRange(qkv, c.q_dim() + c.kv_dim(), c.kv_dim());
    } else {
      l.wq = b.Matrix(p + "attn_q.weight", c.n_embd, c.q_dim());
      l.wk = b.Matrix(p + "attn_k.weight", c.n_embd, c.kv_dim());
      l.wv = b.Matrix(p + "attn_v.weight", c.n_embd, c.kv_dim());
    }
    l.wo = b.Matrix(p + "attn_output.weight", c.q_dim(), c.n_embd);
    l.bq = b.Vector(p + "attn_q.bias", c.q_dim(), !c.qkv_bias);
    l.bk = b.Vector(p + "attn_k.bias", c.kv_dim(), !c.qkv_bias);
    l.bv = b.Vector(p + "attn_v.bias", c.kv_dim(), !c.qkv_bias);
    if (c.qk_norm) {
      l.q_norm = b.Vector(p + "attn_q_norm.weight", c.head_dim);
      l.k_norm = b.Vector(p + "attn_k_norm.weight", c.head_dim);
    }
    l.ffn_norm = b.Vector(p + "ffn_norm.weight", c.n_embd);
    if (c.fused_gate_up) {
      const kernels::WeightMatrix gate_up = b.Matrix(p + "ffn_up.weight", c.n_embd, 2 * c.n_ff);
      l.w_gate = RowRange(gate_up, 0, c.n_ff);
      l.w_up = RowRange(gate_up, c.n_ff, c.n_ff);
    } else {
      l.w_gate = b.Matrix(p + "ffn_gate.weight", c.n_embd, c.n_ff);
      l.w_up = b.Matrix(p + "ffn_up.weight", c.n_embd, c.n_ff);
    }
    l.w_down = b.Matrix(p + "ffn_down.weight", c.n_ff, c.n_embd);
    if (c.post_norms) {
      l.post_attn_norm = b.Vector(p + "post_attention_norm.weight", c.n_embd);
      l.post_ffn_norm = b.Vector(p + "post_ffw_norm.weight", c.n_embd);
    }
  }
  // Llama 3.1+ frequency factors for RoPE (optional); LongRoPE's two sets, the short one in use
  // until LlamaModel::SetContextLength says otherwise.
  const int32_t n_freq = (c.rope_dims > 0 ? c.rope_dims : c.head_dim) / 2;
  config->rope_freq_factors = b.Vector("rope_freqs.weight", n_freq, /*optional=*/true);
  if (c.rope_original_context > 0) {
    config->rope_factors_long = b.Vector("rope_factors_long.weight", n_freq);
    config->rope_factors_short = b.Vector("rope_factors_short.weight", n_freq);
    if (!config->rope_freq_factors.empty()) {
      return InvalidArgumentError("a file with both rope_freqs.weight and LongRoPE factors");
    }
    config->rope_freq_factors = config->rope_factors_short;
  }
  RETURN_IF_ERROR(b.Finish());
  for (const auto* factors :
       {&config->rope_freq_factors, &config->rope_factors_long, &config->rope_factors_short}) {
    for (float f : *factors) {
      if (!(f > 0.0f) || !std::isfinite(f)) {
        return InvalidArgumentError("RoPE frequency factor " + std::to_string(f) +
                                    " is not a finite number > 0");
      }
    }
  }
  w.bytes = b.bytes();
  return w;
}

}  // namespace odlm
