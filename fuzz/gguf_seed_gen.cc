// fuzz/gguf_seed_gen.cc — writes the seed corpus of gguf_reader_fuzzer: a few small valid GGUF
// files (no extension: the repository ignores *.gguf) covering every metadata type, nested
// arrays, both versions, a custom alignment, several block types and a vocab-only file.
//   gguf_seed_gen fuzz/corpus/gguf_reader
#include <cstdio>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"

namespace {

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 37);
  return v;
}

bool Write(const odlm::GgufWriter& w, const std::string& path, int version = 3) {
  auto bytes = w.WriteToString();
  if (!bytes.ok()) return false;
  (*bytes)[4] = static_cast<char>(version);  // the version field is a little-endian u32 at 4
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes->data(), 1, bytes->size(), f) == bytes->size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  using odlm::DType;
  using odlm::GgufValue;
  using odlm::GgufValueType;
  bool ok = true;

  odlm::GgufWriter minimal;
  minimal.SetString("general.architecture", "llama");
  ok &= minimal.AddTensor("w", DType::kF32, {8}, Bytes(32, 1)).ok();
  ok &= Write(minimal, dir + "/minimal");
  ok &= Write(minimal, dir + "/minimal_v2", 2);

  odlm::GgufWriter types(64);
  types.Set("u8", GgufValue::U8(7));
  types.Set("i8", GgufValue::I8(-7));
  types.Set("u16", GgufValue::U16(700));
  types.Set("i16", GgufValue::I16(-700));
  types.Set("u32", GgufValue::U32(70000));
  types.Set("i32", GgufValue::I32(-70000));
  types.Set("u64", GgufValue::U64(7000000000ull));
  types.Set("i64", GgufValue::I64(-7000000000ll));
  types.Set("f32", GgufValue::F32(0.5f));
  types.Set("f64", GgufValue::F64(-0.25));
  types.Set("bool", GgufValue::Bool(true));
  types.Set("str", GgufValue::String("hello"));
  types.Set("strs", GgufValue::StringArray({"a", "bc", ""}));
  types.Set("f32s", GgufValue::F32Array({1.0f, 2.0f}));
  types.Set("nested",
            GgufValue::ArrayOfArrays({GgufValue::I32Array({1, 2}),
                                      GgufValue::ArrayOfArrays({GgufValue::StringArray({"x"})})}));
  ok &= types.AddTensor("q8", DType::kQ8_0, {32, 2}, Bytes(68, 2)).ok();
  ok &= types.AddTensor("q4k", DType::kQ4_K, {256}, Bytes(144, 3)).ok();
  ok &= types.AddTensor("f16", DType::kF16, {4, 2, 2}, Bytes(32, 4)).ok();
  ok &= Write(types, dir + "/all_types");

  odlm::GgufWriter vocab;
  vocab.SetString("tokenizer.ggml.model", "gpt2");
  vocab.Set("tokenizer.ggml.tokens", GgufValue::StringArray({"!", "a", "b", "ab", "<|end|>"}));
  vocab.Set("tokenizer.ggml.token_type", GgufValue::I32Array({1, 1, 1, 1, 3}));
  vocab.Set("tokenizer.ggml.merges", GgufValue::StringArray({"a b"}));
  vocab.SetU32("tokenizer.ggml.eos_token_id", 4);
  ok &= Write(vocab, dir + "/vocab_only");

  odlm::GgufWriter model;
  model.SetString("general.architecture", "qwen2");
  model.SetU32("qwen2.embedding_length", 32);
  model.SetU32("qwen2.block_count", 1);
  ok &= model.AddTensor("token_embd.weight", DType::kQ4_0, {32, 4}, Bytes(72, 5)).ok();
  ok &= model.AddTensor("blk.0.attn_q.bias", DType::kF32, {32}, Bytes(128, 6)).ok();
  ok &= model.AddTensor("blk.0.ffn_down.weight", DType::kQ6_K, {256, 1}, Bytes(210, 7)).ok();
  ok &= Write(model, dir + "/model");
  if (!ok) std::fprintf(stderr, "gguf_seed_gen: failed\n");
  return ok ? 0 : 1;
}
