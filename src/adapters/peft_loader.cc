// adapters/peft_loader.cc — Hugging Face PEFT LoRA directories → LoraAdapter.
//
// adapter_config.json is read with gguf/json_lite.h (the core links no JSON library). Tensor names
// map to GGUF roles: model.layers.N.self_attn.{q,k,v,o}_proj → blk.N.attn_{q,k,v,output},
// model.layers.N.mlp.{gate,up,down}_proj → blk.N.ffn_{gate,up,down}. For GGUF "llama" bases the
// converter permuted q/k rows per head (half-split → adjacent-pair RoPE order); lora_B of q/k gets
// the same permutation so that B·A matches the converted weight.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "adapters/lora_adapter.h"
#include "adapters/qk_row_order.h"
#include "gguf/json_lite.h"
#include "gguf/safetensors_reader.h"
#include "platform/file_util.h"
#include "tensor/half.h"

namespace odlm {
namespace {

struct ModuleName {
  std::string_view hf;
  LoraTarget target;
};
constexpr ModuleName kModules[] = {
    {"self_attn.q_proj", LoraTarget::kAttnQ}, {"self_attn.k_proj", LoraTarget::kAttnK},
    {"self_attn.v_proj", LoraTarget::kAttnV}, {"self_attn.o_proj", LoraTarget::kAttnOutput},
    {"mlp.gate_proj", LoraTarget::kFfnGate},  {"mlp.up_proj", LoraTarget::kFfnUp},
    {"mlp.down_proj", LoraTarget::kFfnDown},
};

// "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight" (optionally ".default" before
// ".weight") → layer 3, attn_q, is_a. False if the name has another form.
bool ParsePeftName(std::string_view name, int32_t* layer, LoraTarget* target, bool* is_a,
                   std::string_view* module) {
  for (std::string_view prefix : {"base_model.model.", "base_model."}) {
    if (name.substr(0, prefix.size()) == prefix) {
      name.remove_prefix(prefix.size());
      break;
    }
  }
  constexpr std::string_view kLayers = "model.layers.";
  if (name.substr(0, kLayers.size()) != kLayers) return false;
  name.remove_prefix(kLayers.size());
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 6) return false;
  int32_t n = 0;
  for (char c : name.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  name.remove_prefix(dot + 1);
  for (std::string_view tail : {".weight", ".default.weight"}) {
    for (std::string_view ab : {".lora_A", ".lora_B"}) {
      const std::string suffix = std::string(ab) + std::string(tail);
      if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
        continue;
      }
      const std::string_view mod = name.substr(0, name.size() - suffix.size());
      for (const ModuleName& m : kModules) {
        if (mod == m.hf) {
          *layer = n;
          *target = m.target;
          *is_a = ab == ".lora_A";
          *module = mod.substr(mod.find('.') + 1);
          return true;
        }
      }
    }
  }
  return false;
}

std::vector<float> ToFloat(const SafetensorsTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  for (int64_t i = 0; i < t.n_elements; ++i) {
    if (*t.type == DType::kF32) {
      std::memcpy(&out[i], t.data + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      out[i] = *t.type == DType::kF16 ? HalfToFloat(h) : Bf16ToFloat(h);
    }
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<LoraAdapter>> LoraAdapter::FromPeftDirectory(const std::string& dir,
                                                                      const LoraBaseShape& base) {
  const std::string config_path = dir + "/adapter_config.json";
  auto text = ReadFileToString(config_path);
  if (!text.ok()) return text.status().WithContext("PEFT adapter");
  auto parsed = ParseJson(*text);
  if (!parsed.ok()) return parsed.status().WithContext(config_path);
  const JsonValue& cfg = *parsed;
  auto cfg_error = [&](const std::string& what) {
    return InvalidArgumentError(config_path + ": " + what);
  };
  if (!cfg.is_object()) return cfg_error("not a JSON object");
  if (const JsonValue* t = cfg.Find("peft_type"); t != nullptr) {
    if (!t->is_string() || t->str() != "LORA") {
      return UnimplementedError(config_path + ": peft_type is not \"LORA\"");
    }
  }
  const JsonValue* r_v = cfg.Find("r");
  int64_t r = 0;
  if (r_v == nullptr || !r_v->ToInt64(&r) || r <= 0 || r > 65536) {
    return cfg_error("\"r\" must be a positive integer");
  }
  double alpha = 8.0;  // PEFT's default lora_alpha
  if (const JsonValue* a = cfg.Find("lora_alpha"); a != nullptr) {
    if (!a->is_number()) return cfg_error("\"lora_alpha\" must be a number");
    alpha = a->number();
  }
  for (const char* flag : {"use_dora", "fan_in_fan_out"}) {
    const JsonValue* v = cfg.Find(flag);
    if (v != nullptr && v->is_bool() && v->boolean()) {
      return UnimplementedError(config_path + ": \"" + flag + "\": true is not supported");
    }
  }
  for (const char* pattern : {"rank_pattern", "alpha_pattern"}) {
    const JsonValue* v = cfg.Find(pattern);
    if (v != nullptr && v->is_object() && !v->members().empty()) {
      return UnimplementedError(config_path + ": per-module \"" + std::string(pattern) +
                                "\" is not supported (one r and lora_alpha for all modules)");
    }
  }
  if (const JsonValue* v = cfg.Find("use_rslora"); v != nullptr && v->is_bool() && v->boolean()) {
    alpha *= std::sqrt(static_cast<double>(r));  // rsLoRA scales by alpha/sqrt(r)
  }
  std::vector<std::string> targets;  // empty: not checked (a regex string, or absent)
  if (const JsonValue* t = cfg.Find("target_modules"); t != nullptr && t->is_array()) {
    for (const JsonValue& m : t->items()) {
      if (!m.is_string()) return cfg_error("\"target_modules\" must hold strings");
      targets.push_back(m.str());
    }
  }

  const std::string st_path = dir + "/adapter_model.safetensors";
  ASSIGN_OR_RETURN(auto st, SafetensorsFile::Open(st_path));
  struct Halves {
    const SafetensorsTensor* a = nullptr;
    const SafetensorsTensor* b = nullptr;
  };
  std::map<std::pair<int32_t, int32_t>, Halves> by_target;
  for (const SafetensorsTensor& t : st->tensors()) {
    auto bad = [&](const std::string& what) {
      return InvalidArgumentError(st_path + ": tensor '" + t.name + "': " + what);
    };
    int32_t layer = 0;
    LoraTarget target;
    bool is_a = false;
    std::string_view module;
    if (!ParsePeftName(t.name, &layer, &target, &is_a, &module)) {
      return UnimplementedError(st_path + ": tensor '" + t.name +
                                "' is not a LoRA A/B weight of a q/k/v/o/gate/up/down projection "
                                "of model.layers.N (other modules and DoRA are not supported)");
    }
    if (!targets.empty() &&
        std::find(targets.begin(), targets.end(), std::string(module)) == targets.end()) {
      return bad("module '" + std::string(module) + "' is not among the config's target_modules");
    }
    if (!t.type.has_value()) {
      return UnimplementedError(st_path + ": tensor '" + t.name + "' has dtype " + t.dtype +
                                "; PEFT adapters must be F32, F16 or BF16");
    }
    if (t.shape.size() != 2) return bad("expected 2 dimensions");
    Halves& h = by_target[{layer, static_cast<int32_t>(target)}];
    (is_a ? h.a : h.b) = &t;
  }
  std::vector<LoraPair> pairs;
  for (const auto& [key, h] : by_target) {
    const std::string where = "layer " + std::to_string(key.first) + " " +
                              std::string(LoraTargetName(static_cast<LoraTarget>(key.second)));
    if (h.a == nullptr || h.b == nullptr) {
      return InvalidArgumentError(st_path + ": " + where + " has lora_" + (h.a ? "A" : "B") +
                                  " but no lora_" + (h.a ? "B" : "A"));
    }
    LoraPair p;
    p.layer = key.first;
    p.target = static_cast<LoraTarget>(key.second);
    // PEFT: lora_A [r, in], lora_B [out, r] (PyTorch order, rows first).
    if (h.a->shape[0] != r || h.b->shape[1] != r) {
      return InvalidArgumentError(
          st_path + ": " + where + ": rank mismatch: lora_A is [" + std::to_string(h.a->shape[0]) +
          ", " + std::to_string(h.a->shape[1]) + "], lora_B [" + std::to_string(h.b->shape[0]) +
          ", " + std::to_string(h.b->shape[1]) + "], config r = " + std::to_string(r));
    }
    p.rank = static_cast<int32_t>(r);
    p.n_in = h.a->shape[1];
    p.n_out = h.b->shape[0];
    const size_t ti = static_cast<size_t>(p.target);
    if (p.n_in != base.cols[ti] || p.n_out != base.rows[ti]) {
      return InvalidArgumentError(st_path + ": " + where + ": the adapter maps " +
                                  std::to_string(p.n_in) + " inputs to " + std::to_string(p.n_out) +
                                  " outputs but the base matrix has " +
                                  std::to_string(base.cols[ti]) + " inputs and " +
                                  std::to_string(base.rows[ti]) + " outputs");
    }
    p.a = ToFloat(*h.a);
    p.b = ToFloat(*h.b);
    if (base.permute_qk_from_hf &&
        (p.target == LoraTarget::kAttnQ || p.target == LoraTarget::kAttnK)) {
      const int32_t heads = p.target == LoraTarget::kAttnQ ? base.n_head : base.n_head_kv;
      CHECK_EQ(static_cast<int64_t>(heads) * base.head_dim, p.n_out);
      internal::ReorderQkRows(&p.b, r, heads, base.head_dim, /*to_gguf=*/true);
    }
    pairs.push_back(std::move(p));
  }
  auto adapter = FromPairs(base.arch, static_cast<float>(alpha), std::move(pairs), base);
  if (!adapter.ok()) return adapter.status().WithContext(dir);
  return adapter;
}

}  // namespace odlm
