// adapters/peft_writer.cc — a LoRA adapter as a Hugging Face PEFT directory (the inverse of
// peft_loader.cc). The safetensors and JSON texts are written by hand: the core links only the
// standard library, and both formats are small and fixed here.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "adapters/lora_adapter.h"
#include "adapters/qk_row_order.h"
#include "base/check.h"
#include "platform/file_util.h"

namespace odlm {
namespace {

const char* PeftModule(LoraTarget t) {
  switch (t) {
    case LoraTarget::kAttnQ:
      return "self_attn.q_proj";
    case LoraTarget::kAttnK:
      return "self_attn.k_proj";
    case LoraTarget::kAttnV:
      return "self_attn.v_proj";
    case LoraTarget::kAttnOutput:
      return "self_attn.o_proj";
    case LoraTarget::kFfnGate:
      return "mlp.gate_proj";
    case LoraTarget::kFfnUp:
      return "mlp.up_proj";
    case LoraTarget::kFfnDown:
      return "mlp.down_proj";
  }
  return "";
}

std::string FormatFloat(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

}  // namespace

Status WritePeftDirectory(const LoraAdapter& adapter, const LoraBaseShape& base,
                          const std::string& dir) {
  const int32_t rank = adapter.max_rank();
  std::set<std::string> modules;
  for (const LoraPair& p : adapter.pairs()) {
    if (p.rank != rank) {
      return InvalidArgumentError("a PEFT adapter has one rank; this adapter mixes ranks " +
                                  std::to_string(p.rank) + " and " + std::to_string(rank));
    }
    const std::string m = PeftModule(p.target);
    modules.insert(m.substr(m.find('.') + 1));
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return InternalError("cannot create directory " + dir + ": " + std::strerror(errno));
  }
  // Tensors: header JSON with data offsets, then the f32 data back to back.
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::string data;
  auto add = [&](const std::string& name, int64_t rows, int64_t cols, const std::vector<float>& v) {
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    header += ",\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(rows) + "," +
              std::to_string(cols) + "],\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(data.size()) + "]}";
  };
  for (const LoraPair& p : adapter.pairs()) {
    const std::string prefix =
        "base_model.model.model.layers." + std::to_string(p.layer) + "." + PeftModule(p.target);
    add(prefix + ".lora_A.weight", p.rank, p.n_in, p.a);
    std::vector<float> b = p.b;
    if (base.permute_qk_from_hf &&
        (p.target == LoraTarget::kAttnQ || p.target == LoraTarget::kAttnK)) {
      const int32_t heads = p.target == LoraTarget::kAttnQ ? base.n_head : base.n_head_kv;
      CHECK_EQ(static_cast<int64_t>(heads) * base.head_dim, p.n_out);
      internal::ReorderQkRows(&b, p.rank, heads, base.head_dim, /*to_gguf=*/false);
    }
    add(prefix + ".lora_B.weight", p.n_out, p.rank, b);
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::string file(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  file += header;
  file += data;
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/adapter_model.safetensors", file));

  std::string targets;
  for (const std::string& m : modules) targets += (targets.empty() ? "\"" : ", \"") + m + "\"";
  const std::string config =
      "{\n  \"peft_type\": \"LORA\",\n  \"task_type\": \"CAUSAL_LM\",\n  \"r\": " +
      std::to_string(rank) + ",\n  \"lora_alpha\": " + FormatFloat(adapter.alpha()) +
      ",\n  \"lora_dropout\": 0.0,\n  \"bias\": \"none\",\n  \"use_rslora\": false,\n" +
      "  \"target_modules\": [" + targets + "]\n}\n";
  return WriteFileAtomically(dir + "/adapter_config.json", config);
}

}  // namespace odlm
