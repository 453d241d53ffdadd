// gguf/safetensors_reader.h — reads safetensors files (Hugging Face's tensor container): a u64
// little-endian header length N, N bytes of JSON header, then the data section.
//
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section) plus an optional "__metadata__" object of string → string.
// Like the GGUF reader, nothing read from the file is trusted: the header length is checked
// against the file size (and a 100 MiB cap), every shape is overflow-checked, each tensor's byte
// range must lie inside the data section and have exactly n_elements * dtype size bytes, and no
// two tensors may overlap. Violations are DataLoss errors naming the tensor or the byte offset;
// a dtype string this reader does not know is DataLoss too (the known ones parse even if the
// caller cannot compute with them; SafetensorsTensor::type says which it can).
//
// Tensor data is zero-copy: SafetensorsTensor::data points into the mapped file (Open) or the
// caller's bytes (Parse) and lives as long as they do.
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tensor/dtype.h"

namespace odlm {

class MappedFile;

struct SafetensorsTensor {
  std::string name;
  std::string dtype;           // as in the file: "F32", "F16", "BF16", "I64", ...
  std::optional<DType> type;   // F32 / F16 / BF16 → the DType; other dtypes → nullopt
  std::vector<int64_t> shape;  // row-major, outermost first (PyTorch order); may be empty (scalar)
  int64_t n_elements = 0;
  uint64_t offset = 0;  // begin, relative to the data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // n_bytes bytes
};

class SafetensorsFile {
 public:
  // Memory-maps and parses `path`. Errors are prefixed with the path.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  // Parses `size` bytes at `data`, which the caller keeps alive and unchanged.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Parse(const uint8_t* data, size_t size);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // Tensors in header order.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* FindTensor(std::string_view name) const;  // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  Status ParseBytes(const uint8_t* data, size_t size);

  std::unique_ptr<MappedFile> mapping_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Bytes per element of a safetensors dtype string; 0 if unknown.
int64_t SafetensorsDTypeSize(std::string_view dtype);

}  // namespace odlm
