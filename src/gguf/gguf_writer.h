// gguf/gguf_writer.h — writes GGUF v3 files: metadata of every type, tensors of every block type.
//
// Usage:
//   GgufWriter w;                                   // alignment 32
//   w.Set("general.architecture", GgufValue::String("llama"));
//   RETURN_IF_ERROR(w.AddTensor("output_norm.weight", DType::kF32, {256}, std::move(bytes)));
//   RETURN_IF_ERROR(w.WriteFile("model.gguf"));
// Tensor data is either handed over as bytes or produced at write time by a callback, one tensor
// at a time, so a writer of a large model holds at most one tensor's bytes in memory. Layout:
// header, metadata in insertion order, tensor infos in insertion order, then each tensor's data
// at the next multiple of the alignment (zero padding). Output is fully deterministic.
//
// Thread-safety: none (one writer per thread). Callbacks run on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "gguf/gguf_reader.h"
#include "tensor/dtype.h"

namespace odlm {

class GgufWriter {
 public:
  // Fills `dst` with exactly `n_bytes` bytes of a tensor's data (an error aborts the write).
  using TensorFiller = std::function<Status(uint8_t* dst, uint64_t n_bytes)>;

  // `alignment` must be a power of two (CHECK); when it is not the default 32 the writer also
  // stores it as general.alignment (u32), as GGUF requires.
  explicit GgufWriter(uint64_t alignment = kGgufDefaultAlignment);

  // Sets `key` to `value`; a key already set keeps its position and gets the new value.
  void Set(const std::string& key, GgufValue value);
  void SetString(const std::string& key, std::string v) { Set(key, GgufValue::String(v)); }
  void SetU32(const std::string& key, uint32_t v) { Set(key, GgufValue::U32(v)); }
  void SetF32(const std::string& key, float v) { Set(key, GgufValue::F32(v)); }
  void SetBool(const std::string& key, bool v) { Set(key, GgufValue::Bool(v)); }
  // Removes `key` if set; true if it was.
  bool Remove(const std::string& key);
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }

  // Adds a tensor with `dims` in GGUF order (dims[0] fastest). InvalidArgument for an empty or
  // duplicate name, 0 or more than 4 dims, a dim <= 0, dims[0] not a multiple of the block size,
  // or `data` of the wrong size (it must be n_elements / block_size * type_size bytes).
  Status AddTensor(const std::string& name, DType type, std::vector<int64_t> dims,
                   std::vector<uint8_t> data);
  // The same, with the data produced by `fill` when the file is written.
  Status AddTensor(const std::string& name, DType type, std::vector<int64_t> dims,
                   TensorFiller fill);
  size_t tensor_count() const { return tensors_.size(); }

  // The size in bytes of the file that Write* will produce.
  uint64_t FileSize() const;

  // Writes crash-safely: into `path`.tmp.<pid> in the same directory, fsync, rename over `path`,
  // fsync of the directory. On error nothing replaces `path` and the temporary file is removed.
  Status WriteFile(const std::string& path) const;
  // The whole file in memory (for tests and small fixtures).
  StatusOr<std::string> WriteToString() const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> dims;
    uint64_t n_bytes;
    uint64_t offset;  // in the data section
    std::vector<uint8_t> data;
    TensorFiller fill;  // used when set
  };
  using Sink = std::function<Status(const uint8_t* p, size_t n)>;

  Status CheckTensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                     uint64_t* n_bytes) const;
  std::string EncodeHeader() const;  // everything before the data section, padding included
  Status WriteTo(const Sink& sink) const;

  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  uint64_t data_size_ = 0;  // bytes of the data section so far (padded)
};

}  // namespace odlm
