// model/model_config.cc — GGUF metadata → ModelConfig.
#include "model/model_config.h"

#include <cmath>
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

// The features an architecture switches on that do not depend on metadata values.
struct ArchTraits {
  const char* name;
  ModelArch arch;
  RopeStyle rope_style;
  float default_rope_base;
};

constexpr ArchTraits kArchitectures[] = {
    {"llama", ModelArch::kLlama, RopeStyle::kNormal, 10000.0f},
    {"qwen2", ModelArch::kQwen2, RopeStyle::kNeox, 1000000.0f},
    {"qwen3", ModelArch::kQwen3, RopeStyle::kNeox, 1000000.0f},
    {"phi3", ModelArch::kPhi3, RopeStyle::kNeox, 10000.0f},
    {"gemma2", ModelArch::kGemma2, RopeStyle::kNeox, 10000.0f},
    {"gemma3", ModelArch::kGemma3, RopeStyle::kNeox, 1000000.0f},
};

// An optional float key, or `fallback` when the file lacks it.
StatusOr<float> FloatOr(const GgufFile& file, const std::string& key, float fallback) {
  if (file.FindValue(key) == nullptr) return fallback;
  return file.GetFloat(key);
}

// Sets what gemma2/gemma3, phi3 and qwen3 add to llama (the caller has read the shared keys).
Status ReadArchFeatures(const GgufFile& file, ModelConfig* c) {
  const std::string a = c->arch_name + ".";
  const bool gemma = c->arch == ModelArch::kGemma2 || c->arch == ModelArch::kGemma3;
  c->qkv_bias = c->arch == ModelArch::kQwen2;
  c->qk_norm = c->arch == ModelArch::kQwen3 || c->arch == ModelArch::kGemma3;
  c->fused_qkv = c->fused_gate_up = c->arch == ModelArch::kPhi3;
  // Mixture-of-experts files share the architecture name (Mixtral is a "llama"); their expert
  // tensors would only show up as missing FFN tensors, so name the feature instead.
  if (file.FindValue(a + "expert_count") != nullptr) {
    ASSIGN_OR_RETURN(uint64_t experts, file.GetUInt(a + "expert_count"));
    if (experts > 0) {
      return UnimplementedError("'" + c->arch_name + "' with mixture-of-experts layers (" +
                                std::to_string(experts) + " experts) is not supported");
    }
  }
  if (gemma) {
    c->embedding_scale = std::sqrt(static_cast<float>(c->n_embd));
    c->post_norms = true;
    c->ffn_activation = FfnActivation::kGeluTanh;
  }
  // Gemma's 27B models scale queries by 1/√(n_embd / n_head) (their query_pre_attn_scalar), the
  // others by 1/√key_length; the file has no key for it, so the size is told by the layer count
  // (46 layers: Gemma 2 27B, 62: Gemma 3 27B), as llama.cpp does.
  if ((c->arch == ModelArch::kGemma2 && c->n_layer == 46) ||
      (c->arch == ModelArch::kGemma3 && c->n_layer == 62)) {
    c->attention_scale = 1.0f / std::sqrt(static_cast<float>(c->n_embd / c->n_head));
  }
  if (c->arch == ModelArch::kGemma2) {
    ASSIGN_OR_RETURN(c->attn_logit_softcap, FloatOr(file, a + "attn_logit_softcapping", 50.0f));
    ASSIGN_OR_RETURN(c->final_logit_softcap, FloatOr(file, a + "final_logit_softcapping", 30.0f));
    if (!(c->attn_logit_softcap > 0.0f) || !(c->final_logit_softcap > 0.0f)) {
      return InvalidArgumentError("gemma2 soft-capping values must be > 0");
    }
  }
  // Sliding windows: phi3 on every layer (when the file gives one), gemma2 on even layers, gemma3
  // on five of every six.
  const std::string window_key = a + "attention.sliding_window";
  if (gemma || (c->arch == ModelArch::kPhi3 && file.FindValue(window_key) != nullptr)) {
    c->sliding_window = gemma ? 4096 : 0;
    if (file.FindValue(window_key) != nullptr) {
      ASSIGN_OR_RETURN(c->sliding_window, GetDim(file, window_key, 1 << 24));
    }
    c->layer_sliding.resize(c->n_layer);
    for (int32_t l = 0; l < c->n_layer; ++l) {
      c->layer_sliding[l] = c->arch == ModelArch::kPhi3     ? true
                            : c->arch == ModelArch::kGemma2 ? l % 2 == 0
                                                            : l % 6 < 5;
    }
  }
  if (c->arch == ModelArch::kGemma3) c->rope_local_freq_base = 10000.0f;
  return Status::Ok();
}

// RoPE beyond base and linear scaling: partial rotation, the cos/sin factor and LongRoPE's
// original context (its factor tensors are bound with the weights).
Status ReadRopeExtras(const GgufFile& file, ModelConfig* c) {
  const std::string a = c->arch_name + ".";
  c->rope_dims = c->head_dim;
  if (file.FindValue(a + "rope.dimension_count") != nullptr) {
    ASSIGN_OR_RETURN(c->rope_dims, GetDim(file, a + "rope.dimension_count", c->head_dim));
    if (c->rope_dims % 2 != 0) {
      return InvalidArgumentError("rope.dimension_count " + std::to_string(c->rope_dims) +
                                  " must be even");
    }
  }
  ASSIGN_OR_RETURN(c->rope_attn_factor, FloatOr(file, a + "rope.scaling.attn_factor", 1.0f));
  if (!(c->rope_attn_factor > 0.0f) || !std::isfinite(c->rope_attn_factor)) {
    return InvalidArgumentError("rope.scaling.attn_factor must be a finite number > 0");
  }
  const bool long_rope = file.FindTensor("rope_factors_long.weight") != nullptr ||
                         file.FindTensor("rope_factors_short.weight") != nullptr;
  if (long_rope) {
    if (file.FindTensor("rope_factors_long.weight") == nullptr ||
        file.FindTensor("rope_factors_short.weight") == nullptr) {
      return InvalidArgumentError(
          "LongRoPE needs both rope_factors_long.weight and rope_factors_short.weight");
    }
    const std::string key = a + "rope.scaling.original_context_length";
    if (file.FindValue(key) == nullptr) {
      return InvalidArgumentError("LongRoPE file without metadata '" + key +
                                  "': cannot tell when the long factors apply");
    }
    ASSIGN_OR_RETURN(int32_t original, GetDim(file, key, 1 << 24));
    c->rope_original_context = original;
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& SupportedArchitectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const ArchTraits& t : kArchitectures) v.push_back(t.name);
    return v;
  }();
  return names;
}

std::string ModelConfig::Summary() const {
  std::ostringstream s;
  s << arch_name << ": " << n_layer << " layers, dim " << n_embd << ", " << n_head << " heads ("
    << n_head_kv << " kv), head dim " << head_dim << ", ffn " << n_ff << ", vocab " << n_vocab
    << ", trained context " << n_ctx_train << ", rope base " << rope_freq_base;
  if (sliding_window > 0) {
    int32_t n_sliding = 0;
    for (bool b : layer_sliding) n_sliding += b ? 1 : 0;
    s << ", sliding window " << sliding_window << " on " << n_sliding << " of " << n_layer
      << " layers";
  }
  if (rope_dims > 0 && rope_dims < head_dim) s << ", RoPE on " << rope_dims << " dims per head";
  if (!rope_factors_long.empty()) {
    s << ", LongRoPE (" << (rope_freq_factors == rope_factors_long ? "long" : "short")
      << " factors, original context " << rope_original_context << ")";
  }
  return s.str();
}

StatusOr<ModelConfig> ReadModelConfig(const GgufFile& file) {
  ModelConfig c;
  ASSIGN_OR_RETURN(c.arch_name, file.GetString("general.architecture"));
  const ArchTraits* traits = nullptr;
  for (const ArchTraits& t : kArchitectures) {
    if (c.arch_name == t.name) traits = &t;
  }
  if (traits == nullptr) {
    std::string names;
    for (const std::string& n : SupportedArchitectures()) names += (names.empty() ? "" : ", ") + n;
    return UnimplementedError("architecture '" + c.arch_name +
                              "' is not supported (supported: " + names + ")");
  }
  c.arch = traits->arch;
  c.rope_style = traits->rope_style;
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
  if (file.FindValue(a + "attention.key_length") != nullptr) {
    ASSIGN_OR_RETURN(c.head_dim, GetDim(file, a + "attention.key_length", 4096));
  } else if (c.n_embd % c.n_head != 0) {
    return InvalidArgumentError("embedding_length " + std::to_string(c.n_embd) +
                                " is not a multiple of head_count " + std::to_string(c.n_head) +
                                " and the file has no attention.key_length");
  } else {
    c.head_dim = c.n_embd / c.n_head;
  }
  if (file.FindValue(a + "attention.value_length") != nullptr) {
    ASSIGN_OR_RETURN(int32_t value_length, GetDim(file, a + "attention.value_length", 4096));
    if (value_length != c.head_dim) {
      return UnimplementedError("attention.value_length " + std::to_string(value_length) +
                                " differs from the key length " + std::to_string(c.head_dim) +
                                ", which odlm does not support");
    }
  }
  c.attention_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
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
  ASSIGN_OR_RETURN(c.rope_freq_base,
                   FloatOr(file, a + "rope.freq_base", traits->default_rope_base));
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
  RETURN_IF_ERROR(ReadArchFeatures(file, &c));
  RETURN_IF_ERROR(ReadRopeExtras(file, &c));
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
