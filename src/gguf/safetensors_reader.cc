// gguf/safetensors_reader.cc — safetensors parsing with every length and offset checked.
#include "gguf/safetensors_reader.h"

#include <algorithm>
#include <cstring>

#include "gguf/json_lite.h"
#include "platform/mapped_file.h"

namespace odlm {
namespace {

constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;  // the format's own limit is 100 MB

}  // namespace

int64_t SafetensorsDTypeSize(std::string_view d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

SafetensorsFile::~SafetensorsFile() = default;

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  Status s = f->ParseBytes(mapping->data(), mapping->size());
  if (!s.ok()) return s.WithContext(path);
  f->mapping_ = std::move(mapping);
  return f;
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Parse(const uint8_t* data,
                                                                  size_t size) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  RETURN_IF_ERROR(f->ParseBytes(data, size));
  return f;
}

const SafetensorsTensor* SafetensorsFile::FindTensor(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Status SafetensorsFile::ParseBytes(const uint8_t* data, size_t size) {
  if (size < 8) {
    return DataLossError("safetensors file of " + std::to_string(size) +
                         " bytes is too short for its 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
  if (header_len > size - 8) {
    return DataLossError("header length " + std::to_string(header_len) +
                         " (bytes 0..7) runs past " + "the end of the file (" +
                         std::to_string(size) + " bytes)");
  }
  if (header_len > kMaxHeaderBytes) {
    return DataLossError("header length " + std::to_string(header_len) +
                         " exceeds the 100 MiB limit of the format");
  }
  if (header_len < 2) return DataLossError("header of " + std::to_string(header_len) + " bytes");
  const std::string_view header(reinterpret_cast<const char*>(data + 8), header_len);
  auto parsed = ParseJson(header);
  if (!parsed.ok()) return DataLossError("header (from byte 8): " + parsed.status().message());
  const JsonValue& root = *parsed;
  if (!root.is_object()) return DataLossError("header is not a JSON object");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;

  for (const auto& [name, v] : root.members()) {
    if (name == "__metadata__") {
      if (!v.is_object()) return DataLossError("__metadata__ is not an object");
      for (const auto& [k, mv] : v.members()) {
        if (!mv.is_string()) {
          return DataLossError("__metadata__ value \"" + k + "\" is not a string");
        }
        metadata_[k] = mv.str();
      }
      continue;
    }
    // A named copy: lambdas may not capture structured bindings in clang 14 (the fuzz build).
    const std::string& tensor_name = name;
    auto bad = [&](const std::string& what) {
      return DataLossError("tensor '" + tensor_name + "': " + what);
    };
    if (!v.is_object()) return bad("entry is not an object");
    const JsonValue* dtype = v.Find("dtype");
    const JsonValue* shape = v.Find("shape");
    const JsonValue* offsets = v.Find("data_offsets");
    if (dtype == nullptr || !dtype->is_string()) return bad("missing string field \"dtype\"");
    if (shape == nullptr || !shape->is_array()) return bad("missing array field \"shape\"");
    if (offsets == nullptr || !offsets->is_array() || offsets->items().size() != 2) {
      return bad("\"data_offsets\" must be an array [begin, end]");
    }
    SafetensorsTensor t;
    t.name = name;
    t.dtype = dtype->str();
    const int64_t elem = SafetensorsDTypeSize(t.dtype);
    if (elem == 0) return bad("unknown dtype \"" + t.dtype + "\"");
    if (t.dtype == "F32") t.type = DType::kF32;
    if (t.dtype == "F16") t.type = DType::kF16;
    if (t.dtype == "BF16") t.type = DType::kBF16;
    if (shape->items().size() > 8) return bad("more than 8 dimensions");
    uint64_t n = 1;
    for (const JsonValue& d : shape->items()) {
      uint64_t dim = 0;
      if (!d.ToUInt64(&dim) || dim > (uint64_t{1} << 40)) {
        return bad("shape entries must be non-negative integers below 2^40");
      }
      if (dim != 0 && n > (uint64_t{1} << 50) / dim) return bad("shape has too many elements");
      n *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    t.n_elements = static_cast<int64_t>(n);
    uint64_t begin = 0, end = 0;
    if (!offsets->items()[0].ToUInt64(&begin) || !offsets->items()[1].ToUInt64(&end)) {
      return bad("data_offsets must be non-negative integers");
    }
    if (begin > end) {
      return bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 "] end before they begin");
    }
    if (end > data_size) {
      return bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 "] run past the end of the data section (" + std::to_string(data_size) +
                 " bytes from file byte " + std::to_string(data_start) + ")");
    }
    t.offset = begin;
    t.n_bytes = end - begin;
    if (t.n_bytes != n * static_cast<uint64_t>(elem)) {
      return bad("holds " + std::to_string(t.n_bytes) + " bytes but its shape and dtype " +
                 t.dtype + " need " + std::to_string(n * static_cast<uint64_t>(elem)));
    }
    t.data = data + data_start + begin;
    tensors_.push_back(std::move(t));
  }
  // No two tensors may share bytes.
  std::vector<const SafetensorsTensor*> by_offset;
  for (const auto& t : tensors_) {
    if (t.n_bytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto* prev = by_offset[i - 1];
    const auto* cur = by_offset[i];
    if (cur->offset < prev->offset + prev->n_bytes) {
      return DataLossError("tensors '" + prev->name + "' and '" + cur->name +
                           "' overlap in the data section (bytes " + std::to_string(cur->offset) +
                           ".." + std::to_string(prev->offset + prev->n_bytes) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace odlm
