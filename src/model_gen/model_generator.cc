// model_gen/model_generator.cc — the tensor plan, the per-row random streams and the GGUF metadata
// of generated models.
#include "model_gen/model_generator.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>

#include "base/hash.h"
#include "gguf/gguf_reader.h"
#include "kernels/quant.h"
#include "model/quant_mix.h"
#include "model_gen/gen_vocab.h"

namespace odlm {
namespace {

constexpr const char* kQ4KM = "q4_K_M";

// SplitMix64 (base/hash.h): a tiny, fully specified generator (bytes identical on every platform).
struct Rng {
  SplitMix64Stream stream;
  uint64_t Next() { return stream.Next(); }
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
};

// Fills out[0..n) with N(mean, std²) values (Box-Muller, pairs).
void FillNormal(Rng* rng, float mean, float std, float* out, int64_t n) {
  constexpr double kTwoPi = 6.283185307179586;
  for (int64_t i = 0; i < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(rng->Uniform()));
    const double theta = kTwoPi * rng->Uniform();
    out[i] = static_cast<float>(mean + std * r * std::cos(theta));
    if (i + 1 < n) out[i + 1] = static_cast<float>(mean + std * r * std::sin(theta));
  }
}

// Options with defaults filled in and the vocabulary resolved.
struct Resolved {
  ModelGenOptions o;
  std::string mix;                  // canonical type name or "q4_K_M"
  std::unique_ptr<GgufFile> vocab;  // when options.vocab_file is set
  std::vector<GenTensorSpec> tensors;
};

StatusOr<std::unique_ptr<Resolved>> Resolve(const ModelGenOptions& options) {
  auto r = std::make_unique<Resolved>();
  ModelGenOptions& o = r->o;
  o = options;
  const bool qwen2 = o.arch == "qwen2", phi3 = o.arch == "phi3";
  if (o.arch != "llama" && !qwen2 && !phi3)
    return InvalidArgumentError("architecture '" + o.arch + "': expected llama, qwen2 or phi3");
  if (o.n_head_kv == 0) o.n_head_kv = o.n_head;
  if (o.rope_freq_base == 0) o.rope_freq_base = qwen2 ? 1e6f : 1e4f;
  if (o.rms_eps == 0) o.rms_eps = qwen2 ? 1e-6f : 1e-5f;
  if (o.name.empty()) o.name = "odlm-random-" + o.arch;
  struct Limit {
    const char* what;
    int64_t value, max;
  };
  for (const Limit& l : {Limit{"dim", o.n_embd, 1 << 16}, Limit{"layers", o.n_layer, 1024},
                         Limit{"heads", o.n_head, 1024}, Limit{"kv-heads", o.n_head_kv, 1024},
                         Limit{"ffn", o.n_ff, 1 << 20}, Limit{"ctx", o.n_ctx, 1 << 24}}) {
    if (l.value <= 0 || l.value > l.max) {
      return InvalidArgumentError(std::string(l.what) + " " + std::to_string(l.value) +
                                  ": expected 1.." + std::to_string(l.max));
    }
  }
  if (o.n_embd % o.n_head != 0 || (o.n_embd / o.n_head) % 2 != 0) {
    return InvalidArgumentError("dim " + std::to_string(o.n_embd) + " must be a multiple of 2 x " +
                                "heads (" + std::to_string(o.n_head) + ") for an even head size");
  }
  if (o.n_head % o.n_head_kv != 0) {
    return InvalidArgumentError("heads " + std::to_string(o.n_head) +
                                " must be a multiple of kv-heads " + std::to_string(o.n_head_kv));
  }
  ASSIGN_OR_RETURN(r->mix, CanonicalQuantMix(o.type));
  if (!o.vocab_file.empty()) {
    ASSIGN_OR_RETURN(r->vocab, GgufFile::Open(o.vocab_file));
    const GgufValue* tokens = r->vocab->FindValue("tokenizer.ggml.tokens");
    if (tokens == nullptr || !tokens->is_array() || tokens->array_size() == 0) {
      return InvalidArgumentError("vocabulary file '" + o.vocab_file +
                                  "' has no tokenizer.ggml.tokens array");
    }
    o.n_vocab = static_cast<int64_t>(tokens->array_size());
  } else if (o.n_vocab < kByteLevelVocabMinSize || o.n_vocab > (1 << 24)) {
    return InvalidArgumentError("vocab " + std::to_string(o.n_vocab) +
                                ": the built-in vocabulary " + "needs " +
                                std::to_string(kByteLevelVocabMinSize) + "..16777216");
  }

  const int64_t hd = o.n_embd / o.n_head, q_dim = o.n_head * hd, kv_dim = o.n_head_kv * hd;
  using Init = GenTensorSpec::Init;
  auto matrix = [&](const std::string& name, int64_t layer, int64_t in, int64_t out) {
    const DType t = FallbackType(MixTensorType(r->mix, name, layer, o.n_layer), in);
    r->tensors.push_back({name, t, {in, out}, Init::kMatrix});
  };
  auto vec = [&](const std::string& name, int64_t n, Init init) {
    r->tensors.push_back({name, DType::kF32, {n}, init});
  };
  matrix("token_embd.weight", -1, o.n_embd, o.n_vocab);
  for (int64_t l = 0; l < o.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    vec(p + "attn_norm.weight", o.n_embd, Init::kNorm);
    if (phi3) {
      matrix(p + "attn_qkv.weight", l, o.n_embd, q_dim + 2 * kv_dim);
    } else {
      matrix(p + "attn_q.weight", l, o.n_embd, q_dim);
      matrix(p + "attn_k.weight", l, o.n_embd, kv_dim);
      matrix(p + "attn_v.weight", l, o.n_embd, kv_dim);
    }
    if (qwen2) {
      vec(p + "attn_q.bias", q_dim, Init::kBias);
      vec(p + "attn_k.bias", kv_dim, Init::kBias);
      vec(p + "attn_v.bias", kv_dim, Init::kBias);
    }
    matrix(p + "attn_output.weight", l, q_dim, o.n_embd);
    vec(p + "ffn_norm.weight", o.n_embd, Init::kNorm);
    if (phi3) {
      matrix(p + "ffn_up.weight", l, o.n_embd, 2 * o.n_ff);  // rows: gate, then up
    } else {
      matrix(p + "ffn_gate.weight", l, o.n_embd, o.n_ff);
      matrix(p + "ffn_up.weight", l, o.n_embd, o.n_ff);
    }
    matrix(p + "ffn_down.weight", l, o.n_ff, o.n_embd);
  }
  vec("output_norm.weight", o.n_embd, Init::kNorm);
  if (!qwen2) matrix("output.weight", -1, o.n_embd, o.n_vocab);
  if (qwen2 && r->mix == kQ4KM) {
    // Tied embeddings: token_embd doubles as the output layer and gets the output's type.
    r->tensors[0].type = FallbackType(DType::kQ6_K, o.n_embd);
  }
  return r;
}

void SetTokenizer(const Resolved& r, GgufWriter* w) {
  if (r.vocab != nullptr) {
    for (const auto& [key, value] : r.vocab->metadata())
      if (key.rfind("tokenizer.", 0) == 0) w->Set(key, value);
    return;
  }
  ByteLevelVocab v = std::move(BuildByteLevelVocab(r.o.n_vocab)).value();  // size checked
  w->SetString("tokenizer.ggml.model", "gpt2");
  w->SetString("tokenizer.ggml.pre", "gpt-2");
  w->Set("tokenizer.ggml.tokens", GgufValue::StringArray(std::move(v.tokens)));
  w->Set("tokenizer.ggml.token_type", GgufValue::I32Array(v.token_types));
  w->Set("tokenizer.ggml.merges", GgufValue::StringArray(std::move(v.merges)));
  w->SetU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos_id));
  w->SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
  w->SetU32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(v.pad_id));
  w->SetBool("tokenizer.ggml.add_bos_token", true);
  w->SetBool("tokenizer.ggml.add_eos_token", false);
  w->SetString("tokenizer.chat_template", v.chat_template);
}

}  // namespace

Status ApplyModelPreset(const std::string& preset, ModelGenOptions* o) {
  if (preset == "tiny") {
    o->n_embd = 256, o->n_layer = 4, o->n_head = 4, o->n_head_kv = 2, o->n_ff = 768;
    o->n_vocab = 512, o->n_ctx = 2048;
  } else if (preset == "tinyllama-1.1b") {
    o->n_embd = 2048, o->n_layer = 22, o->n_head = 32, o->n_head_kv = 4, o->n_ff = 5632;
    o->n_vocab = 32000, o->n_ctx = 2048;
  } else {
    return InvalidArgumentError("preset '" + preset + "': expected tiny or tinyllama-1.1b");
  }
  return Status::Ok();
}

StatusOr<std::vector<GenTensorSpec>> PlanModelTensors(const ModelGenOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Resolved> r, Resolve(options));
  return std::move(r->tensors);
}

void FillGenTensor(const GenTensorSpec& spec, uint64_t seed, ThreadPool* pool, uint8_t* dst) {
  const int64_t row_len = spec.dims[0];
  int64_t rows = 1;
  for (size_t i = 1; i < spec.dims.size(); ++i) rows *= spec.dims[i];
  const int64_t row_bytes = RowBytes(spec.type, row_len);
  const uint64_t tensor_seed = Rng{{seed ^ Fnv1a64(spec.name)}}.Next();
  float mean = 0, std = 0.1f;
  if (spec.init == GenTensorSpec::Init::kMatrix) std = 1.0f / std::sqrt(float(row_len));
  if (spec.init == GenTensorSpec::Init::kNorm) mean = 1.0f;
  auto run = [&](int, int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(row_len));  // [row_len]
    for (int64_t r = begin; r < end; ++r) {
      Rng rng{tensor_seed + static_cast<uint64_t>(r) * 0xd1b54a32d192ed03ull};
      FillNormal(&rng, mean, std, row.data(), row_len);
      kernels::QuantizeRow(spec.type, row.data(), dst + r * row_bytes, row_len);
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(rows, run, 1);
  } else {
    run(0, 0, rows);
  }
}

Status BuildModel(const ModelGenOptions& options, ThreadPool* pool, GgufWriter* w,
                  GenProgressFn progress) {
  ASSIGN_OR_RETURN(std::unique_ptr<Resolved> resolved, Resolve(options));
  const Resolved& r = *resolved;
  const ModelGenOptions& o = r.o;
  const std::string& a = o.arch;
  w->SetString("general.architecture", a);
  w->SetString("general.name", o.name);
  w->SetU32("general.file_type", LlamaFileType(r.mix));
  if (IsQuantizedMix(r.mix)) w->SetU32("general.quantization_version", 2);
  w->SetU32(a + ".vocab_size", static_cast<uint32_t>(o.n_vocab));
  w->SetU32(a + ".context_length", static_cast<uint32_t>(o.n_ctx));
  w->SetU32(a + ".embedding_length", static_cast<uint32_t>(o.n_embd));
  w->SetU32(a + ".block_count", static_cast<uint32_t>(o.n_layer));
  w->SetU32(a + ".feed_forward_length", static_cast<uint32_t>(o.n_ff));
  w->SetU32(a + ".attention.head_count", static_cast<uint32_t>(o.n_head));
  w->SetU32(a + ".attention.head_count_kv", static_cast<uint32_t>(o.n_head_kv));
  w->SetF32(a + ".rope.freq_base", o.rope_freq_base);
  w->SetF32(a + ".attention.layer_norm_rms_epsilon", o.rms_eps);
  w->SetU32(a + ".rope.dimension_count", static_cast<uint32_t>(o.n_embd / o.n_head));
  SetTokenizer(r, w);
  const uint64_t seed = o.seed;
  // Progress counters shared by the fillers, which the writer calls in file order.
  struct Progress {
    GenProgressFn fn;
    int64_t tensors_total = 0, tensors_done = 0;
    uint64_t bytes_total = 0, bytes_done = 0;
  };
  auto shared = std::make_shared<Progress>();
  shared->fn = std::move(progress);
  shared->tensors_total = static_cast<int64_t>(r.tensors.size());
  for (const GenTensorSpec& spec : r.tensors) {
    int64_t rows = 1;
    for (size_t i = 1; i < spec.dims.size(); ++i) rows *= spec.dims[i];
    shared->bytes_total += static_cast<uint64_t>(RowBytes(spec.type, spec.dims[0]) * rows);
  }
  for (const GenTensorSpec& spec : r.tensors) {
    RETURN_IF_ERROR(w->AddTensor(spec.name, spec.type, spec.dims,
                                 [spec, seed, pool, shared](uint8_t* dst, uint64_t n_bytes) {
                                   FillGenTensor(spec, seed, pool, dst);
                                   if (shared->fn) {
                                     if (shared->tensors_done == shared->tensors_total) {
                                       shared->tensors_done = 0;  // written again
                                       shared->bytes_done = 0;
                                     }
                                     shared->bytes_done += n_bytes;
                                     shared->fn(++shared->tensors_done, shared->tensors_total,
                                                shared->bytes_done, shared->bytes_total);
                                   }
                                   return Status::Ok();
                                 }));
  }
  return Status::Ok();
}

Status GenerateModel(const ModelGenOptions& options, const std::string& path, int n_threads) {
  ThreadPool pool(n_threads > 0 ? n_threads : HardwareThreads());
  GgufWriter writer;
  RETURN_IF_ERROR(BuildModel(options, &pool, &writer));
  return writer.WriteFile(path);
}

}  // namespace odlm
