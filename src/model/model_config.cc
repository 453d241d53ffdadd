// model/model_config.cc — GGUF metadata → ModelConfig.
#include "model/model_config.h"

#include <sstream>

namespace odlm {
namespace {

StatusOr<int32_t> GetDim(const GgufFile& file, const std::string& key, int64_t max_value) {
  ASSIGN_OR_RETURN(uint64_t v, file.GetUInt(key));
  if (v == 0 || v > static_cast<uint64_t>(max_value)) {
    return InvalidArgumentError("metadata '" + key + "' = " + std::to_string(v) +
                                " is out of range (1.." + std::to_string(max_value) + ")");
  }
  return static_cast<int32_t>(v);
}

}  // namespace

std::string ModelConfig::Summary() const {
  std::ostringstream s;
  s << arch_name << ": " << n_layer << " layers, dim " << n_embd << ", " << n_head << " heads ("
    << n_head_kv << " kv), head dim " << head_dim << ", ffn " << n_ff << ", vocab " << n_vocab
    << ", trained context " << n_ctx_train << ", rope base " << rope_freq_base;
  return s.str();
}

StatusOr<ModelConfig> ReadModelConfig(const GgufFile& file) {
  ModelConfig c;
  ASSIGN_OR_RETURN(c.arch_name, file.GetString("general.architecture"));
  if (c.arch_name == "llama") {
    c.arch = ModelArch::kLlama;
    c.rope_style = RopeStyle::kNormal;
  } else if (c.arch_name == "qwen2") {
    c.arch = ModelArch::kQwen2;
    c.rope_style = RopeStyle::kNeox;
  } else {
    return UnimplementedError("architecture '" + c.arch_name +
                              "' is not supported (supported: llama, qwen2)");
  }
  if (auto name = file.GetString("general.name"); name.ok()) c.name = *name;
  const std::string a = c.arch_name + ".";
  constexpr int64_t kMaxDim = 1 << 20;
  ASSIGN_OR_RETURN(c.n_embd, GetDim(file, a + "embedding_length", kMaxDim));
  ASSIGN_OR_RETURN(c.n_layer, GetDim(file, a + "block_count", 4096));
  ASSIGN_OR_RETURN(c.n_head, GetDim(file, a + "attention.head_count", 4096));
  ASSIGN_OR_RETURN(c.n_ff, GetDim(file, a + "feed_forward_length", kMaxDim));
  c.n_head_kv = c.n_head;
  if (file.FindValue(a + "attention.head_count_kv") != nullptr) {
    ASSIGN_OR_RETURN(c.n_head_kv, GetDim(file, a + "attention.head_count_kv", 4096));
  }
  c.n_ctx_train = 2048;
  if (file.FindValue(a + "context_length") != nullptr) {
    ASSIGN_OR_RETURN(c.n_ctx_train, GetDim(file, a + "context_length", 1 << 24));
  }
  if (c.n_embd % c.n_head != 0) {
    return InvalidArgumentError("embedding_length " + std::to_string(c.n_embd) +
                                " is not a multiple of head_count " + std::to_string(c.n_head));
  }
  c.head_dim = c.n_embd / c.n_head;
  if (file.FindValue(a + "attention.key_length") != nullptr) {
    ASSIGN_OR_RETURN(c.head_dim, GetDim(file, a + "attention.key_length", 4096));
  }
  if (c.head_dim % 2 != 0) {
    return InvalidArgumentError("head dimension " + std::to_string(c.head_dim) + " must be even");
  }
  if (c.n_head % c.n_head_kv != 0) {
    return InvalidArgumentError("head_count " + std::to_string(c.n_head) +
                                " is not a multiple of head_count_kv " +
                                std::to_string(c.n_head_kv));
  }
  if (file.FindValue(a + "attention.layer_norm_rms_epsilon") != nullptr) {
    ASSIGN_OR_RETURN(c.norm_eps, file.GetFloat(a + "attention.layer_norm_rms_epsilon"));
  }
  if (file.FindValue(a + "rope.freq_base") != nullptr) {
    ASSIGN_OR_RETURN(c.rope_freq_base, file.GetFloat(a + "rope.freq_base"));
  } else if (c.arch == ModelArch::kQwen2) {
    c.rope_freq_base = 1000000.0f;
  }
  if (!(c.rope_freq_base > 1.0f)) {
    return InvalidArgumentError("rope.freq_base must be > 1, got " +
                                std::to_string(c.rope_freq_base));
  }
  if (file.FindValue(a + "rope.scaling.type") != nullptr) {
    ASSIGN_OR_RETURN(std::string type, file.GetString(a + "rope.scaling.type"));
    if (type == "linear") {
      ASSIGN_OR_RETURN(c.rope_linear_factor, file.GetFloat(a + "rope.scaling.factor"));
      if (!(c.rope_linear_factor > 0.0f)) {
        return InvalidArgumentError("rope.scaling.factor must be > 0");
      }
    } else if (type != "none") {
      return UnimplementedError("rope scaling type '" + type + "' is not supported (linear, none)");
    }
  }
  // The vocabulary size comes from the embedding tensor (the token list may be padded differently).
  const GgufTensorInfo* emb = file.FindTensor("token_embd.weight");
  if (emb != nullptr && emb->dims.size() == 2) c.n_vocab = static_cast<int32_t>(emb->dims[1]);
  if (c.n_vocab <= 0) {
    return InvalidArgumentError(
        "missing tensor token_embd.weight [n_embd, n_vocab]: cannot tell the vocabulary size");
  }
  return c;
}

}  // namespace odlm
