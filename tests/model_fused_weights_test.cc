// Fused projections (phi3's attn_qkv and gate-up ffn_up) bound as row ranges compute exactly what
// the same rows stored as separate attn_q/k/v and ffn_gate/up tensors compute: a generated phi3
// file against a qwen2 file made of its split rows (zero Q/K/V biases, the same NeoX RoPE and
// untied output), logits compared for a prompt and a decode step, without and with a LoRA adapter
// on every projection (applied unmerged to the Q/K/V and gate/up views). Also: gen-model's phi3
// layout.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "adapters/lora_random.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "kv/kv_cache.h"
#include "model/llama_model.h"
#include "model_gen/model_generator.h"
#include "tests/support/generated_model.h"

namespace odlm {
namespace {

ModelGenOptions Phi3Options(const std::string& type) {
  ModelGenOptions o;
  o.arch = "phi3";
  o.type = type;
  o.n_embd = 128;
  o.n_layer = 2;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 256;
  o.n_vocab = 300;
  o.seed = 3;
  return o;
}

std::string WriteToString(GgufWriter* w) {
  auto bytes = w->WriteToString();
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

std::unique_ptr<GgufFile> Parse(const std::string& bytes) { return testing::ParseGgufBytes(bytes); }

// Rows [first, first + n) of a stored 2-D tensor, as a tensor of their own.
std::vector<uint8_t> Rows(const GgufTensorInfo& t, int64_t first, int64_t n) {
  const uint64_t row_bytes = t.n_bytes / static_cast<uint64_t>(t.dims[1]);
  return std::vector<uint8_t>(t.data + first * row_bytes, t.data + (first + n) * row_bytes);
}

// The phi3 file rewritten as qwen2: fused tensors split, zero biases, "qwen2." metadata keys.
std::string SplitAsQwen2(const GgufFile& phi3, const ModelGenOptions& o) {
  GgufWriter w;
  for (const auto& [key, value] : phi3.metadata()) {
    if (key == "general.architecture") {
      w.SetString(key, "qwen2");
    } else if (key.rfind("phi3.", 0) == 0) {
      w.Set("qwen2." + key.substr(5), value);
    } else {
      w.Set(key, value);
    }
  }
  const int64_t hd = o.n_embd / o.n_head, q_dim = o.n_head * hd, kv_dim = o.n_head_kv * hd;
  for (const GgufTensorInfo& t : phi3.tensors()) {
    const std::string& n = t.name;
    const size_t dot = n.find('.', 4);
    const std::string prefix = n.substr(0, dot + 1);  // "blk.N."
    if (n.find("attn_qkv.weight") != std::string::npos) {
      EXPECT_TRUE(
          w.AddTensor(prefix + "attn_q.weight", t.type, {o.n_embd, q_dim}, Rows(t, 0, q_dim)).ok());
      EXPECT_TRUE(
          w.AddTensor(prefix + "attn_k.weight", t.type, {o.n_embd, kv_dim}, Rows(t, q_dim, kv_dim))
              .ok());
      EXPECT_TRUE(w.AddTensor(prefix + "attn_v.weight", t.type, {o.n_embd, kv_dim},
                              Rows(t, q_dim + kv_dim, kv_dim))
                      .ok());
      for (const auto& [bias, n_out] :
           {std::pair{"attn_q.bias", q_dim}, std::pair{"attn_k.bias", kv_dim},
            std::pair{"attn_v.bias", kv_dim}}) {
        EXPECT_TRUE(w.AddTensor(prefix + bias, DType::kF32, {n_out},
                                std::vector<uint8_t>(n_out * sizeof(float), 0))
                        .ok());
      }
    } else if (n.find("ffn_up.weight") != std::string::npos) {
      EXPECT_TRUE(
          w.AddTensor(prefix + "ffn_gate.weight", t.type, {o.n_embd, o.n_ff}, Rows(t, 0, o.n_ff))
              .ok());
      EXPECT_TRUE(
          w.AddTensor(prefix + "ffn_up.weight", t.type, {o.n_embd, o.n_ff}, Rows(t, o.n_ff, o.n_ff))
              .ok());
    } else {
      EXPECT_TRUE(
          w.AddTensor(n, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes)).ok());
    }
  }
  return WriteToString(&w);
}

// Logits of a 9-token prompt (every position) and of one decode step after it; with_lora: the
// same random adapter (RandomLoraAdapter, seed 5) applied unmerged to every projection.
std::vector<float> RunModel(const GgufFile& file, bool with_lora) {
  auto model = LlamaModel::Load(file);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return {};
  const ModelConfig& c = (*model)->config();
  std::unique_ptr<LoraAdapter> adapter;
  std::vector<ActiveLora> adapters;
  if (with_lora) {
    const LoraBaseShape base = (*model)->LoraBase();
    auto a = RandomLoraAdapter(base, 2, 5, 0.5f);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (!a.ok()) return {};
    adapter = std::move(a).value();
    adapters.push_back({adapter.get(), 1.0f});
  }
  KvCache cache({.n_layer = c.n_layer,
                 .kv_dim = c.kv_dim(),
                 .type = DType::kF32,
                 .chunk_tokens = 16,
                 .max_tokens = 64});
  EXPECT_TRUE(cache.Reserve(16).ok());
  const std::vector<int32_t> prompt = {1, 17, 250, 3, 99, 42, 7, 160, 8};
  std::vector<float> all, step_logits;
  KvCacheView view = cache.View();
  SequenceStep step{prompt.data(), static_cast<int32_t>(prompt.size()), &view, true, adapters};
  EXPECT_TRUE((*model)->Forward({&step, 1}, nullptr, &all).ok());
  cache.Advance(static_cast<int64_t>(prompt.size()));
  const int32_t next = 5;
  view = cache.View();
  SequenceStep decode{&next, 1, &view, false, adapters};
  EXPECT_TRUE((*model)->Forward({&decode, 1}, nullptr, &step_logits).ok());
  all.insert(all.end(), step_logits.begin(), step_logits.end());
  return all;
}

TEST(FusedWeights, Phi3FusedRowsComputeWhatSplitTensorsCompute) {
  for (const char* type : {"f32", "q8_0", "q4_K_M"}) {
    const ModelGenOptions o = Phi3Options(type);
    GgufWriter w;
    ASSERT_TRUE(BuildModel(o, nullptr, &w).ok());
    const std::string phi3_bytes = WriteToString(&w);
    auto phi3 = Parse(phi3_bytes);
    ASSERT_NE(phi3, nullptr);
    // gen-model's phi3 layout: fused tensors only.
    EXPECT_NE(phi3->FindTensor("blk.0.attn_qkv.weight"), nullptr);
    EXPECT_EQ(phi3->FindTensor("blk.0.attn_q.weight"), nullptr);
    EXPECT_EQ(phi3->FindTensor("blk.0.ffn_gate.weight"), nullptr);
    EXPECT_EQ(phi3->FindTensor("blk.1.ffn_up.weight")->dims[1], 2 * o.n_ff);
    const std::string split_bytes = SplitAsQwen2(*phi3, o);
    auto split = Parse(split_bytes);
    ASSERT_NE(split, nullptr);
    for (bool lora : {false, true}) {
      SCOPED_TRACE(std::string(type) + (lora ? " with a LoRA adapter" : ""));
      const std::vector<float> fused_logits = RunModel(*phi3, lora),
                               split_logits = RunModel(*split, lora);
      ASSERT_EQ(fused_logits.size(), 10u * 300u);
      ASSERT_EQ(fused_logits.size(), split_logits.size());
      double max_diff = 0, max_abs = 0;
      for (size_t i = 0; i < fused_logits.size(); ++i) {
        max_diff = std::max<double>(max_diff, std::fabs(fused_logits[i] - split_logits[i]));
        max_abs = std::max<double>(max_abs, std::fabs(fused_logits[i]));
      }
      EXPECT_LE(max_diff, 1e-5);
      EXPECT_GT(max_abs, 0.1) << "the logits are not trivially zero";
    }
  }
}

TEST(FusedWeights, WrongFusedShapeIsAnErrorNamingTheTensor) {
  ModelGenOptions o = Phi3Options("f32");
  GgufWriter w;
  ASSERT_TRUE(BuildModel(o, nullptr, &w).ok());
  const std::string bytes = WriteToString(&w);
  auto phi3 = Parse(bytes);
  ASSERT_NE(phi3, nullptr);
  // The same tensors with one more KV head in the metadata: attn_qkv has too few rows.
  GgufWriter bad;
  for (const auto& [key, value] : phi3->metadata()) bad.Set(key, value);
  bad.SetU32("phi3.attention.head_count_kv", 4);
  for (const GgufTensorInfo& t : phi3->tensors()) {
    ASSERT_TRUE(
        bad.AddTensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes))
            .ok());
  }
  const std::string bad_bytes = WriteToString(&bad);
  auto bad_file = Parse(bad_bytes);
  ASSERT_NE(bad_file, nullptr);
  auto model = LlamaModel::Load(*bad_file);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("attn_qkv"), std::string::npos)
      << model.status().ToString();
}

}  // namespace
}  // namespace odlm
