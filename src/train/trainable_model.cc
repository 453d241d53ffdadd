// train/trainable_model.cc — binding trainable tensors (full or LoRA) to the model's forward pass.
#include "train/trainable_model.h"

#include <cmath>
#include <map>
#include <random>

#include "base/check.h"
#include "kernels/quant.h"
#include "kernels/transpose_quantize.h"

namespace odlm::train {
namespace {

struct Slot {
  float* data;
  int64_t n;
  bool decay;
};

std::string LayerName(int32_t l, const char* what) {
  return "blk." + std::to_string(l) + "." + what;
}

// The backward pass (train/backward_*) covers llama's and qwen2's layers only; the features the
// other architectures add (model_config.h) have no gradient yet.
Status CheckTrainableArchitecture(const ModelConfig& c) {
  if (c.arch == ModelArch::kLlama || c.arch == ModelArch::kQwen2) return Status::Ok();
  return UnimplementedError("training a '" + c.arch_name +
                            "' model is not supported yet: odlm train covers llama and qwen2 "
                            "(this architecture runs for inference only)");
}

}  // namespace

StatusOr<std::vector<LoraTarget>> ParseLoraTargets(const std::string& spec) {
  static const std::map<std::string, LoraTarget> kNames = {{"q", LoraTarget::kAttnQ},
                                                           {"k", LoraTarget::kAttnK},
                                                           {"v", LoraTarget::kAttnV},
                                                           {"o", LoraTarget::kAttnOutput},
                                                           {"gate", LoraTarget::kFfnGate},
                                                           {"up", LoraTarget::kFfnUp},
                                                           {"down", LoraTarget::kFfnDown},
                                                           {"attn_q", LoraTarget::kAttnQ},
                                                           {"attn_k", LoraTarget::kAttnK},
                                                           {"attn_v", LoraTarget::kAttnV},
                                                           {"attn_output", LoraTarget::kAttnOutput},
                                                           {"ffn_gate", LoraTarget::kFfnGate},
                                                           {"ffn_up", LoraTarget::kFfnUp},
                                                           {"ffn_down", LoraTarget::kFfnDown}};
  std::vector<LoraTarget> out;
  bool seen[kLoraTargetCount] = {};
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) continue;
    if (item == "all") {
      for (int t = 0; t < kLoraTargetCount; ++t) seen[t] = true;
      continue;
    }
    auto it = kNames.find(item);
    if (it == kNames.end()) {
      return InvalidArgumentError("unknown LoRA target '" + item +
                                  "' (expected q, k, v, o, gate, up, down or all)");
    }
    seen[static_cast<int>(it->second)] = true;
  }
  for (int t = 0; t < kLoraTargetCount; ++t) {
    if (seen[t]) out.push_back(static_cast<LoraTarget>(t));
  }
  if (out.empty()) return InvalidArgumentError("no LoRA targets given");
  return out;
}

StatusOr<std::unique_ptr<TrainableModel>> TrainableModel::Full(const GgufFile& file) {
  ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig(file));
  RETURN_IF_ERROR(CheckTrainableArchitecture(config));
  ASSIGN_OR_RETURN(ModelWeights w, BindModelWeights(file, &config));
  std::unique_ptr<TrainableModel> tm(new TrainableModel());
  auto own = [&](kernels::WeightMatrix* m) {
    std::vector<float> buf(static_cast<size_t>(m->rows * m->cols));  // [rows, cols]
    for (int64_t r = 0; r < m->rows; ++r) {
      kernels::DequantizeRow(m->type, static_cast<const uint8_t*>(m->data) + r * m->row_bytes,
                             &buf[r * m->cols], m->cols);
    }
    *m = {DType::kF32, buf.data(), m->rows, m->cols, m->cols * static_cast<int64_t>(sizeof(float))};
    tm->owned_.push_back(std::move(buf));
  };
  own(&w.token_embd);
  if (w.tied_output) {
    w.output = w.token_embd;
  } else {
    own(&w.output);
  }
  for (LayerWeights& l : w.layers) {
    for (kernels::WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      own(m);
    }
  }
  tm->model_ = LlamaModel::FromWeights(std::move(config), std::move(w));
  tm->model_->set_float_matmul(true);
  ModelWeights& mw = *tm->model_->mutable_weights();
  const ModelConfig& c = tm->model_->config();

  std::map<std::string, Slot> slots;
  auto matrix = [&](const std::string& name, const kernels::WeightMatrix& m) {
    slots[name] = {static_cast<float*>(const_cast<void*>(m.data)), m.rows * m.cols, true};
  };
  auto vec = [&](const std::string& name, std::vector<float>& v) {
    if (!v.empty()) slots[name] = {v.data(), static_cast<int64_t>(v.size()), false};
  };
  matrix("token_embd.weight", mw.token_embd);
  if (!mw.tied_output) matrix("output.weight", mw.output);
  vec("output_norm.weight", mw.output_norm);
  for (int32_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& lw = mw.layers[l];
    vec(LayerName(l, "attn_norm.weight"), lw.attn_norm);
    vec(LayerName(l, "ffn_norm.weight"), lw.ffn_norm);
    matrix(LayerName(l, "attn_q.weight"), lw.wq);
    matrix(LayerName(l, "attn_k.weight"), lw.wk);
    matrix(LayerName(l, "attn_v.weight"), lw.wv);
    matrix(LayerName(l, "attn_output.weight"), lw.wo);
    matrix(LayerName(l, "ffn_gate.weight"), lw.w_gate);
    matrix(LayerName(l, "ffn_up.weight"), lw.w_up);
    matrix(LayerName(l, "ffn_down.weight"), lw.w_down);
    vec(LayerName(l, "attn_q.bias"), lw.bq);
    vec(LayerName(l, "attn_k.bias"), lw.bk);
    vec(LayerName(l, "attn_v.bias"), lw.bv);
  }
  // The file's tensor order, so outputs and checkpoints list tensors as the model file does.
  for (const GgufTensorInfo& t : file.tensors()) {
    auto it = slots.find(t.name);
    if (it == slots.end()) continue;
    CHECK_EQ(it->second.n, t.n_elements);
    Param p;
    p.name = t.name;
    p.dims = t.dims;
    p.data = it->second.data;
    p.n = it->second.n;
    p.grad.assign(static_cast<size_t>(p.n), 0.0f);
    p.decay = it->second.decay;
    tm->params_.push_back(std::move(p));
    slots.erase(it);
  }
  CHECK(slots.empty());
  // Gradient pointers, now that params_ no longer moves.
  std::map<std::string, float*> grad_of;
  for (Param& p : tm->params_) grad_of[p.name] = p.grad.data();
  auto g = [&](const std::string& name) -> float* {
    auto it = grad_of.find(name);
    return it == grad_of.end() ? nullptr : it->second;
  };
  GradTargets& gt = tm->grads_;
  gt.token_embd = g("token_embd.weight");
  gt.output = mw.tied_output ? gt.token_embd : g("output.weight");
  gt.output_norm = g("output_norm.weight");
  gt.layers.resize(c.n_layer);
  static const char* kMatrixNames[kLoraTargetCount] = {
      "attn_q.weight",   "attn_k.weight", "attn_v.weight",  "attn_output.weight",
      "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};
  for (int32_t l = 0; l < c.n_layer; ++l) {
    LayerGrads& lg = gt.layers[l];
    lg.attn_norm = g(LayerName(l, "attn_norm.weight"));
    lg.ffn_norm = g(LayerName(l, "ffn_norm.weight"));
    for (int t = 0; t < kLoraTargetCount; ++t) lg.w[t] = g(LayerName(l, kMatrixNames[t]));
    lg.bq = g(LayerName(l, "attn_q.bias"));
    lg.bk = g(LayerName(l, "attn_k.bias"));
    lg.bv = g(LayerName(l, "attn_v.bias"));
  }
  return tm;
}

StatusOr<BaseArithmetic> ParseBaseArithmetic(const std::string& name) {
  if (name == "auto") return BaseArithmetic::kAuto;
  if (name == "f32") return BaseArithmetic::kF32;
  if (name == "int8") return BaseArithmetic::kInt8;
  return InvalidArgumentError("unknown base arithmetic '" + name +
                              "' (expected auto, f32 or int8)");
}

const kernels::WeightMatrix* TrainableModel::TransposedBase(const kernels::WeightMatrix& w) const {
  auto it = transposed_.find(w.data);
  return it == transposed_.end() ? nullptr : &it->second;
}

StatusOr<std::unique_ptr<TrainableModel>> TrainableModel::Lora(const GgufFile& base,
                                                               const LoraSpec& spec,
                                                               ThreadPool* pool) {
  std::unique_ptr<TrainableModel> tm(new TrainableModel());
  // No interleaved copies: training multiplies through MatMulFloat or the row-major int8 kernels.
  ASSIGN_OR_RETURN(tm->model_, LlamaModel::Load(base, {.interleave = false}));
  RETURN_IF_ERROR(CheckTrainableArchitecture(tm->model_->config()));
  const ModelWeights& mw = *tm->model_->mutable_weights();
  bool int8 = spec.arithmetic == BaseArithmetic::kInt8;
  if (spec.arithmetic == BaseArithmetic::kAuto) {
    // int8 pays off where inference's integer GEMM is fast (AVX-512 VNNI: ~3x the f32 rate); with
    // AVX2 alone the f32 products are faster (docs/PERFORMANCE.md, Training).
    int8 = GetDTypeInfo(mw.layers[0].wq.type).quantized &&
           kernels::MatMulVariant(mw.layers[0].wq.type) == "avx512vnni" &&
           kernels::MatMulVariant(DType::kQ8_0) == "avx512vnni";
  }
  tm->model_->set_float_matmul(!int8);
  if (int8) {
    // Wᵀ of every frozen matrix in Q8_0, once (a row count that is not a multiple of 32 keeps
    // the f32 backward for that matrix).
    std::vector<const kernels::WeightMatrix*> frozen = {&mw.output};
    for (const LayerWeights& l : mw.layers) {
      for (const kernels::WeightMatrix* m :
           {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
        frozen.push_back(m);
      }
    }
    for (const kernels::WeightMatrix* m : frozen) {
      if (tm->transposed_.count(m->data) != 0 || !kernels::CanTransposeQuantize(*m, DType::kQ8_0)) {
        continue;
      }
      tm->transposed_storage_.emplace_back();
      tm->transposed_[m->data] =
          kernels::TransposeQuantize(*m, DType::kQ8_0, &tm->transposed_storage_.back(), pool);
    }
  }
  const LoraBaseShape shape = tm->model_->LoraBase();
  std::unique_ptr<LoraAdapter> adapter;
  if (!spec.from_adapter.empty()) {
    ASSIGN_OR_RETURN(adapter, LoraAdapter::Load(spec.from_adapter, shape));
  } else {
    if (spec.rank <= 0) return InvalidArgumentError("LoRA rank must be at least 1");
    if (!(spec.alpha > 0) || !std::isfinite(spec.alpha)) {
      return InvalidArgumentError("LoRA alpha must be a finite value > 0");
    }
    if (spec.targets.empty()) return InvalidArgumentError("no LoRA targets given");
    std::mt19937_64 rng(spec.seed);
    std::vector<LoraPair> pairs;
    for (int32_t l = 0; l < shape.n_layer; ++l) {
      for (LoraTarget t : spec.targets) {
        LoraPair p;
        p.layer = l;
        p.target = t;
        p.n_in = shape.cols[static_cast<int>(t)];
        p.n_out = shape.rows[static_cast<int>(t)];
        p.rank = spec.rank;
        if (p.rank > std::min(p.n_in, p.n_out)) {
          return InvalidArgumentError("LoRA rank " + std::to_string(spec.rank) +
                                      " exceeds the smaller side of " +
                                      std::string(LoraTargetName(t)) + " (" +
                                      std::to_string(std::min(p.n_in, p.n_out)) + ")");
        }
        const double bound = 1.0 / std::sqrt(static_cast<double>(p.n_in));
        p.a.resize(static_cast<size_t>(p.rank * p.n_in));
        for (float& v : p.a) {
          // Uniform in [-bound, bound) from the top 53 bits: same on every platform.
          const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
          v = static_cast<float>((2.0 * u - 1.0) * bound);
        }
        p.b.assign(static_cast<size_t>(p.n_out * p.rank), 0.0f);
        pairs.push_back(std::move(p));
      }
    }
    ASSIGN_OR_RETURN(adapter,
                     LoraAdapter::FromPairs(shape.arch, spec.alpha, std::move(pairs), shape));
  }
  if (!(spec.dropout >= 0.0f && spec.dropout < 1.0f)) {
    return InvalidArgumentError("LoRA dropout must be in [0, 1)");
  }
  tm->adapter_ = std::move(adapter);
  tm->active_ = {ActiveLora{tm->adapter_.get(), 1.0f}};
  tm->lora_dropout_ = spec.dropout;
  tm->BuildLoraParams();
  return tm;
}

void TrainableModel::SetDropout(bool training, uint64_t seed) {
  if (active_.empty()) return;
  active_[0].dropout = training ? lora_dropout_ : 0.0f;
  active_[0].dropout_seed = seed;
}

void TrainableModel::BuildLoraParams() {
  std::vector<LoraPair>& pairs = adapter_->mutable_pairs();
  for (LoraPair& p : pairs) {
    const std::string base =
        "blk." + std::to_string(p.layer) + "." + std::string(LoraTargetName(p.target)) + ".weight";
    Param a;
    a.name = base + ".lora_a";
    a.dims = {p.n_in, p.rank};
    a.data = p.a.data();
    a.n = static_cast<int64_t>(p.a.size());
    a.grad.assign(p.a.size(), 0.0f);
    Param b;
    b.name = base + ".lora_b";
    b.dims = {p.rank, p.n_out};
    b.data = p.b.data();
    b.n = static_cast<int64_t>(p.b.size());
    b.grad.assign(p.b.size(), 0.0f);
    params_.push_back(std::move(a));
    params_.push_back(std::move(b));
  }
  grads_ = GradTargets();
  grads_.layers.resize(model_->config().n_layer);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const LoraPair& p = pairs[i];
    LoraGrad& lg = grads_.layers[p.layer].lora[static_cast<int>(p.target)];
    lg.pair = &p;
    lg.scaling = adapter_->Scaling(p);
    lg.da = params_[2 * i].grad.data();
    lg.db = params_[2 * i + 1].grad.data();
  }
}

}  // namespace odlm::train
