// train/checkpoint.cc — checkpoints as GGUF files (tensors + progress metadata).
#include "train/checkpoint.h"

#include <cstring>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "platform/file_util.h"

namespace odlm::train {
namespace {

std::vector<uint8_t> Bytes(const float* data, int64_t n) {
  std::vector<uint8_t> out(static_cast<size_t>(n) * sizeof(float));
  std::memcpy(out.data(), data, out.size());
  return out;
}

}  // namespace

std::string CheckpointPath(const std::string& dir) { return dir + "/checkpoint.gguf"; }

Status SaveCheckpoint(const std::string& path, const ParamSet& params, const Optimizer& optimizer,
                      const TrainProgress& p) {
  GgufWriter w;
  w.SetString("general.architecture", "odlm-train-checkpoint");
  w.Set("train.step", GgufValue::I64(p.step));
  w.Set("train.epoch", GgufValue::I64(p.epoch));
  w.Set("train.row", GgufValue::I64(p.row));
  w.Set("train.tokens", GgufValue::I64(p.tokens));
  w.Set("train.elapsed_s", GgufValue::F64(p.elapsed_s));
  w.SetString("train.fingerprint", p.fingerprint);
  const Optimizer::State st = optimizer.SaveState();
  w.Set("train.optimizer_step", GgufValue::I64(st.step));
  const std::vector<std::string> slots = optimizer.SlotNames();
  for (const Param& prm : params) {
    RETURN_IF_ERROR(w.AddTensor(prm.name, DType::kF32, prm.dims, Bytes(prm.data, prm.n)));
  }
  for (size_t s = 0; s < slots.size(); ++s) {
    for (size_t k = 0; k < params.size(); ++k) {
      const std::vector<float>& v = st.slots[s * params.size() + k];
      RETURN_IF_ERROR(w.AddTensor("opt." + slots[s] + "." + params[k].name, DType::kF32,
                                  params[k].dims, Bytes(v.data(), static_cast<int64_t>(v.size()))));
    }
  }
  return w.WriteFile(path);
}

Status LoadCheckpoint(const std::string& path, ParamSet* params, Optimizer* optimizer,
                      TrainProgress* progress) {
  if (!FileExists(path)) return NotFoundError("no checkpoint at " + path);
  ASSIGN_OR_RETURN(auto file, GgufFile::Open(path));
  auto bad = [&](const std::string& what) {
    return InvalidArgumentError(path + ": " + what + " (not a checkpoint of this run)");
  };
  ASSIGN_OR_RETURN(std::string fingerprint, file->GetString("train.fingerprint"));
  if (fingerprint != progress->fingerprint) {
    return FailedPreconditionError(
        path +
        " was written by a run with other settings (model, data, mode or options); "
        "resume with the same command line, or use another --checkpoint-dir");
  }
  TrainProgress p;
  ASSIGN_OR_RETURN(p.step, file->GetInt("train.step"));
  ASSIGN_OR_RETURN(p.epoch, file->GetInt("train.epoch"));
  ASSIGN_OR_RETURN(p.row, file->GetInt("train.row"));
  ASSIGN_OR_RETURN(p.tokens, file->GetInt("train.tokens"));
  ASSIGN_OR_RETURN(float elapsed, file->GetFloat("train.elapsed_s"));
  p.elapsed_s = elapsed;
  p.fingerprint = fingerprint;
  Optimizer::State st;
  ASSIGN_OR_RETURN(st.step, file->GetInt("train.optimizer_step"));
  const std::vector<std::string> slots = optimizer->SlotNames();
  st.n_slots = static_cast<int32_t>(slots.size());
  auto read = [&](const std::string& name, int64_t n, std::vector<float>* out) -> Status {
    const GgufTensorInfo* t = file->FindTensor(name);
    if (t == nullptr) return bad("tensor " + name + " is missing");
    if (t->type != DType::kF32 || t->n_elements != n)
      return bad("tensor " + name + " has the wrong size");
    out->resize(static_cast<size_t>(n));
    std::memcpy(out->data(), t->data, static_cast<size_t>(n) * sizeof(float));
    return Status::Ok();
  };
  std::vector<std::vector<float>> values(params->size());
  for (size_t k = 0; k < params->size(); ++k) {
    RETURN_IF_ERROR(read((*params)[k].name, (*params)[k].n, &values[k]));
  }
  st.slots.resize(slots.size() * params->size());
  for (size_t s = 0; s < slots.size(); ++s) {
    for (size_t k = 0; k < params->size(); ++k) {
      RETURN_IF_ERROR(read("opt." + slots[s] + "." + (*params)[k].name, (*params)[k].n,
                           &st.slots[s * params->size() + k]));
    }
  }
  RETURN_IF_ERROR(optimizer->RestoreState(std::move(st)));
  for (size_t k = 0; k < params->size(); ++k) {
    std::memcpy((*params)[k].data, values[k].data(), values[k].size() * sizeof(float));
  }
  *progress = p;
  return Status::Ok();
}

}  // namespace odlm::train
