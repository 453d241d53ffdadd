// adapters/lora_adapter.cc — GGUF LoRA adapters: reading, validation, writing.
#include "adapters/lora_adapter.h"

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "kernels/quant.h"

namespace odlm {
namespace {

constexpr std::array<std::string_view, kLoraTargetCount> kTargetNames = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

std::string Dims(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Converts a 2-D GGUF tensor to f32, row by row.
std::vector<float> ToFloat(const GgufTensorInfo& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  const int64_t cols = t.dims[0], rows = t.n_elements / cols;
  const int64_t row_bytes = RowBytes(t.type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    kernels::DequantizeRow(t.type, t.data + r * row_bytes, &out[r * cols], cols);
  }
  return out;
}

}  // namespace

std::string_view LoraTargetName(LoraTarget target) {
  return kTargetNames[static_cast<size_t>(target)];
}

std::string LoraBaseTensorName(int32_t layer, LoraTarget target) {
  return "blk." + std::to_string(layer) + "." + std::string(LoraTargetName(target)) + ".weight";
}

bool ParseLoraBaseName(std::string_view name, int32_t* layer, LoraTarget* target) {
  constexpr std::string_view kPrefix = "blk.", kSuffix = ".weight";
  if (name.substr(0, kPrefix.size()) != kPrefix || !EndsWith(name, kSuffix)) return false;
  name.remove_prefix(kPrefix.size());
  name.remove_suffix(kSuffix.size());
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 6) return false;
  int32_t n = 0;
  for (char c : name.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  const std::string_view role = name.substr(dot + 1);
  for (int i = 0; i < kLoraTargetCount; ++i) {
    if (role == kTargetNames[i]) {
      *layer = n;
      *target = static_cast<LoraTarget>(i);
      return true;
    }
  }
  return false;
}

StatusOr<std::unique_ptr<LoraAdapter>> LoraAdapter::Load(const std::string& path,
                                                         const LoraBaseShape& base) {
  if (IsDirectory(path)) return FromPeftDirectory(path, base);
  if (EndsWith(path, "adapter_model.safetensors") || EndsWith(path, "adapter_config.json")) {
    const size_t slash = path.rfind('/');
    return FromPeftDirectory(slash == std::string::npos ? "." : path.substr(0, slash), base);
  }
  ASSIGN_OR_RETURN(auto file, GgufFile::Open(path));
  auto adapter = FromGguf(*file, base);
  if (!adapter.ok()) return adapter.status().WithContext(path);
  return adapter;
}

StatusOr<std::unique_ptr<LoraAdapter>> LoraAdapter::FromGguf(const GgufFile& file,
                                                             const LoraBaseShape& base) {
  auto type = file.GetString("general.type");
  if (!type.ok() || *type != "adapter") {
    return InvalidArgumentError(
        "not a LoRA adapter: general.type is " +
        (type.ok() ? "'" + *type + "'" : std::string("absent")) +
        ", expected 'adapter' (is this a base model? pass it with -m, adapters with --lora)");
  }
  auto kind = file.GetString("adapter.type");
  if (!kind.ok() || *kind != "lora") {
    return UnimplementedError("adapter.type is " +
                              (kind.ok() ? "'" + *kind + "'" : std::string("absent")) +
                              "; only 'lora' adapters are supported");
  }
  ASSIGN_OR_RETURN(std::string arch, file.GetString("general.architecture"));
  float alpha = 0;
  if (file.FindValue("adapter.lora.alpha") != nullptr) {
    ASSIGN_OR_RETURN(alpha, file.GetFloat("adapter.lora.alpha"));
  }
  // Pair up lora_a / lora_b by their base tensor name.
  struct Halves {
    const GgufTensorInfo* a = nullptr;
    const GgufTensorInfo* b = nullptr;
  };
  std::map<std::string, Halves> by_base;
  for (const auto& t : file.tensors()) {
    const bool is_a = EndsWith(t.name, ".lora_a"), is_b = EndsWith(t.name, ".lora_b");
    if (!is_a && !is_b) {
      return InvalidArgumentError("tensor '" + t.name +
                                  "' is not a LoRA tensor (expected a name ending in .lora_a or "
                                  ".lora_b)");
    }
    if (t.dims.size() != 2) {
      return InvalidArgumentError("tensor '" + t.name + "' has shape " + Dims(t.dims) +
                                  ", expected 2 dimensions");
    }
    if (!kernels::CanDequantize(t.type)) {
      return UnimplementedError("tensor '" + t.name + "' has block type " +
                                std::string(DTypeName(t.type)) + ", which odlm cannot read");
    }
    Halves& h = by_base[t.name.substr(0, t.name.size() - 7)];
    (is_a ? h.a : h.b) = &t;
  }
  std::vector<LoraPair> pairs;
  for (const auto& [name, h] : by_base) {
    if (h.a == nullptr || h.b == nullptr) {
      return InvalidArgumentError("'" + name + "' has " + (h.a ? "lora_a" : "lora_b") + " but no " +
                                  (h.a ? "lora_b" : "lora_a"));
    }
    LoraPair p;
    if (!ParseLoraBaseName(name, &p.layer, &p.target)) {
      return UnimplementedError("the adapter adapts '" + name +
                                "'; odlm adapts only blk.N.{attn_q,attn_k,attn_v,attn_output,"
                                "ffn_gate,ffn_up,ffn_down}.weight");
    }
    // GGUF order: lora_a [n_in, r] (n_in fastest), lora_b [r, n_out].
    p.n_in = h.a->dims[0];
    p.rank = static_cast<int32_t>(std::min<int64_t>(h.a->dims[1], INT32_MAX));
    p.n_out = h.b->dims[1];
    if (h.b->dims[0] != h.a->dims[1]) {
      return InvalidArgumentError("'" + name + "': rank mismatch: lora_a has shape " +
                                  Dims(h.a->dims) + " (rank " + std::to_string(h.a->dims[1]) +
                                  ") but lora_b " + Dims(h.b->dims) + " (rank " +
                                  std::to_string(h.b->dims[0]) + ")");
    }
    p.a = ToFloat(*h.a);
    p.b = ToFloat(*h.b);
    pairs.push_back(std::move(p));
  }
  return FromPairs(std::move(arch), alpha, std::move(pairs), base);
}

StatusOr<std::unique_ptr<LoraAdapter>> LoraAdapter::FromPairs(std::string arch, float alpha,
                                                              std::vector<LoraPair> pairs,
                                                              const LoraBaseShape& base) {
  if (arch != base.arch) {
    return InvalidArgumentError("the adapter is for architecture '" + arch +
                                "' but the base model is '" + base.arch + "'");
  }
  if (pairs.empty()) return InvalidArgumentError("the adapter has no LoRA tensors");
  if (!(alpha >= 0) || alpha > 1e6f) {
    return InvalidArgumentError("adapter.lora.alpha " + std::to_string(alpha) +
                                " is not a finite value >= 0");
  }
  std::unique_ptr<LoraAdapter> ad(new LoraAdapter());
  ad->arch_ = std::move(arch);
  ad->n_layer_ = base.n_layer;
  ad->index_.assign(static_cast<size_t>(base.n_layer) * kLoraTargetCount, -1);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const LoraPair& p = pairs[i];
    const std::string name = LoraBaseTensorName(p.layer, p.target);
    if (p.layer < 0 || p.layer >= base.n_layer) {
      return InvalidArgumentError("'" + name + "': the base model has only " +
                                  std::to_string(base.n_layer) + " layers");
    }
    const size_t t = static_cast<size_t>(p.target);
    if (p.n_in != base.cols[t] || p.n_out != base.rows[t]) {
      return InvalidArgumentError("'" + name + "': the adapter maps " + std::to_string(p.n_in) +
                                  " inputs to " + std::to_string(p.n_out) +
                                  " outputs but the base matrix has " +
                                  std::to_string(base.cols[t]) + " inputs and " +
                                  std::to_string(base.rows[t]) + " outputs");
    }
    if (p.rank <= 0 || p.rank > std::min(p.n_in, p.n_out)) {
      return InvalidArgumentError("'" + name + "': rank " + std::to_string(p.rank) +
                                  " is not in 1.." + std::to_string(std::min(p.n_in, p.n_out)));
    }
    CHECK_EQ(static_cast<int64_t>(p.a.size()), p.rank * p.n_in);
    CHECK_EQ(static_cast<int64_t>(p.b.size()), p.n_out * p.rank);
    for (float v : p.a) {
      if (!std::isfinite(v)) return InvalidArgumentError("'" + name + "': lora_a is not finite");
    }
    for (float v : p.b) {
      if (!std::isfinite(v)) return InvalidArgumentError("'" + name + "': lora_b is not finite");
    }
    int32_t& slot = ad->index_[static_cast<size_t>(p.layer) * kLoraTargetCount + t];
    if (slot >= 0) return InvalidArgumentError("'" + name + "' is adapted twice");
    slot = static_cast<int32_t>(i);
  }
  ad->pairs_ = std::move(pairs);
  // A missing alpha means "no extra scaling" (alpha = rank), as llama.cpp reads it.
  ad->alpha_ = alpha > 0 ? alpha : static_cast<float>(ad->max_rank());
  if (alpha == 0) {
    for (const auto& p : ad->pairs_) {
      if (p.rank != ad->max_rank()) {
        return InvalidArgumentError(
            "the adapter has no adapter.lora.alpha and pairs of different ranks");
      }
    }
  }
  return ad;
}

int32_t LoraAdapter::max_rank() const {
  int32_t r = 0;
  for (const auto& p : pairs_) r = std::max(r, p.rank);
  return r;
}

int64_t LoraAdapter::n_params() const {
  int64_t n = 0;
  for (const auto& p : pairs_) n += static_cast<int64_t>(p.a.size() + p.b.size());
  return n;
}

std::string LoraAdapter::Describe() const {
  std::set<std::string_view> targets;
  std::set<int32_t> ranks;
  for (const auto& p : pairs_) {
    targets.insert(LoraTargetName(p.target));
    ranks.insert(p.rank);
  }
  std::string s = "rank ";
  for (int32_t r : ranks) s += (r == *ranks.begin() ? "" : "/") + std::to_string(r);
  char alpha[32];
  std::snprintf(alpha, sizeof(alpha), "%g", alpha_);
  s += ", alpha " + std::string(alpha) + ", " + std::to_string(pairs_.size()) + " matrices (";
  bool first = true;
  for (auto t : targets) {
    s += (first ? "" : " ") + std::string(t);
    first = false;
  }
  char params[32];
  std::snprintf(params, sizeof(params), "%.3f", static_cast<double>(n_params()) / 1e6);
  return s + "), " + params + " M parameters";
}

Status LoraAdapter::ToGguf(GgufWriter* w) const {
  w->SetString("general.architecture", arch_);
  w->SetString("general.type", "adapter");
  w->SetString("adapter.type", "lora");
  w->SetF32("adapter.lora.alpha", alpha_);
  for (const auto& p : pairs_) {
    const std::string base = LoraBaseTensorName(p.layer, p.target);
    std::vector<uint8_t> a(p.a.size() * sizeof(float)), b(p.b.size() * sizeof(float));
    std::memcpy(a.data(), p.a.data(), a.size());
    std::memcpy(b.data(), p.b.data(), b.size());
    RETURN_IF_ERROR(w->AddTensor(base + ".lora_a", DType::kF32, {p.n_in, p.rank}, std::move(a)));
    RETURN_IF_ERROR(w->AddTensor(base + ".lora_b", DType::kF32, {p.rank, p.n_out}, std::move(b)));
  }
  return Status::Ok();
}

}  // namespace odlm
