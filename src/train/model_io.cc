// train/model_io.cc — init configs, initialisation, and writing trained models and adapters.
#include "train/model_io.h"

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "gguf/gguf_writer.h"
#include "gguf/json_lite.h"
#include "kernels/quant.h"
#include "model_gen/model_generator.h"
#include "platform/file_util.h"

namespace odlm::train {
namespace {

// N(0, 1) by Box-Muller over 53-bit uniforms: identical on every platform.
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 0;
    while (u1 == 0) u1 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2 * M_PI * u2);
  }

 private:
  std::mt19937_64 rng_;
  double spare_ = 0;
  bool has_spare_ = false;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

StatusOr<InitialModel> BuildInitialModel(const std::string& config_path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(config_path));
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status().WithContext(config_path);
  const JsonValue& j = *parsed;
  if (!j.is_object()) return InvalidArgumentError(config_path + ": expected a JSON object");
  ModelGenOptions o;
  o.type = "f32";
  o.name = "odlm-trained";
  const std::map<std::string, int64_t*> ints = {{"dim", &o.n_embd},   {"layers", &o.n_layer},
                                                {"heads", &o.n_head}, {"kv_heads", &o.n_head_kv},
                                                {"ffn", &o.n_ff},     {"ctx", &o.n_ctx}};
  for (const auto& [member_key, value] : j.members()) {
    const std::string& key = member_key;  // a lambda may not capture a structured binding (C++20)
    auto bad = [&](const std::string& what) {
      return InvalidArgumentError(config_path + ": \"" + key + "\" " + what);
    };
    if (auto it = ints.find(key); it != ints.end()) {
      int64_t v = 0;
      if (!value.is_number() || !value.ToInt64(&v) || v <= 0 || v > (1 << 20)) {
        return bad("must be a positive integer");
      }
      *it->second = v;
    } else if (key == "arch" || key == "name") {
      if (!value.is_string()) return bad("must be a string");
      (key == "arch" ? o.arch : o.name) = value.str();
    } else if (key == "vocab") {
      int64_t v = 0;
      if (value.is_number() && value.ToInt64(&v) && v > 0) {
        o.n_vocab = v;
      } else if (value.is_string()) {
        std::string path = value.str();
        const size_t slash = config_path.rfind('/');
        if (!path.empty() && path[0] != '/' && slash != std::string::npos) {
          path = config_path.substr(0, slash + 1) + path;
        }
        o.vocab_file = path;
      } else {
        return bad("must be a GGUF file name or a vocabulary size");
      }
    } else if (key == "rope_base") {
      if (!value.is_number() || !(value.number() > 0)) return bad("must be a positive number");
      o.rope_freq_base = static_cast<float>(value.number());
    } else {
      return bad(
          "is not a config key (arch, dim, layers, heads, kv_heads, ffn, ctx, vocab, "
          "rope_base, name)");
    }
  }
  GgufWriter w;
  Status st = BuildModel(o, nullptr, &w);
  if (!st.ok()) return st.WithContext(config_path);
  InitialModel m;
  ASSIGN_OR_RETURN(m.bytes, w.WriteToString());
  ASSIGN_OR_RETURN(
      m.file, GgufFile::Parse(reinterpret_cast<const uint8_t*>(m.bytes.data()), m.bytes.size()));
  return m;
}

void InitializeParams(ParamSet* params, int32_t n_layer, uint64_t seed) {
  Normal normal(seed);
  const double residual = 0.02 / std::sqrt(2.0 * std::max(1, n_layer));
  for (Param& p : *params) {
    if (EndsWith(p.name, "_norm.weight")) {
      std::fill(p.data, p.data + p.n, 1.0f);
    } else if (EndsWith(p.name, ".bias")) {
      std::fill(p.data, p.data + p.n, 0.0f);
    } else {
      const bool out_proj =
          EndsWith(p.name, "attn_output.weight") || EndsWith(p.name, "ffn_down.weight");
      const double std = out_proj ? residual : 0.02;
      for (int64_t i = 0; i < p.n; ++i) p.data[i] = static_cast<float>(std * normal.Next());
    }
  }
}

Status WriteTrainedModel(const GgufFile& source, const ParamSet& params, DType type,
                         const std::string& name, const std::string& path) {
  uint32_t file_type = 0;
  if (type == DType::kF32) {
    file_type = 0;
  } else if (type == DType::kF16) {
    file_type = 1;
  } else if (type == DType::kBF16) {
    file_type = 32;
  } else {
    return InvalidArgumentError(
        "a trained model is written as f32, f16 or bf16 (quantize it "
        "afterwards), not " +
        std::string(DTypeName(type)));
  }
  GgufWriter w;
  for (const auto& [key, value] : source.metadata()) w.Set(key, value);
  w.SetU32("general.file_type", file_type);
  if (!name.empty()) w.SetString("general.name", name);
  std::map<std::string, const Param*> by_name;
  for (const Param& p : params) by_name[p.name] = &p;
  for (const GgufTensorInfo& t : source.tensors()) {
    auto it = by_name.find(t.name);
    if (it == by_name.end()) {
      std::vector<uint8_t> bytes(t.data, t.data + t.n_bytes);
      RETURN_IF_ERROR(w.AddTensor(t.name, t.type, t.dims, std::move(bytes)));
      continue;
    }
    const Param* p = it->second;
    const DType out = t.dims.size() == 1 ? DType::kF32 : type;
    std::vector<uint8_t> bytes(static_cast<size_t>(RowBytes(out, p->n)));
    kernels::QuantizeRow(out, p->data, bytes.data(), p->n);
    RETURN_IF_ERROR(w.AddTensor(t.name, out, t.dims, std::move(bytes)));
  }
  return w.WriteFile(path);
}

Status WriteTrainedAdapter(const LoraAdapter& adapter, const std::string& path) {
  GgufWriter w;
  RETURN_IF_ERROR(adapter.ToGguf(&w));
  return w.WriteFile(path);
}

}  // namespace odlm::train
