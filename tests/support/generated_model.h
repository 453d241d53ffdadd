// tests/support/generated_model.h — the small random-weight llama that engine-level tests
// generate in-process (model_gen/model_generator.h): dim 128, 2 layers, 4 heads / 2 KV heads,
// FFN 256, the built-in 400-token byte-level BPE vocabulary, 512-token context, Q8_0 weights
// (or another block type).
// Deterministic for a given seed; ~1 MB; writing it takes well under a second.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "model_gen/model_generator.h"

namespace odlm::testing {

// The small model's options (llama; callers may change the architecture or anything else).
inline ModelGenOptions SmallModelOptions(uint64_t seed, const std::string& type = "q8_0") {
  ModelGenOptions o;
  o.n_embd = 128;
  o.n_layer = 2;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 256;
  o.n_vocab = 400;
  o.n_ctx = 512;
  o.type = type;
  o.seed = seed;
  return o;
}

// Writes the model with `seed` to `path` (two generator threads).
inline Status WriteSmallGeneratedModel(const std::string& path, uint64_t seed,
                                       const std::string& type = "q8_0") {
  return GenerateModel(SmallModelOptions(seed, type), path, 2);
}

// The GGUF bytes of a generated model, built in memory ("" and a test failure on error).
inline std::string GeneratedModelBytes(const ModelGenOptions& o) {
  GgufWriter w;
  const Status s = BuildModel(o, nullptr, &w);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return "";
  auto bytes = w.WriteToString();
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

// Parses GGUF bytes (nullptr and a test failure on error). The file views `bytes`, which must
// outlive it.
inline std::unique_ptr<GgufFile> ParseGgufBytes(const std::string& bytes) {
  auto r = GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

}  // namespace odlm::testing
