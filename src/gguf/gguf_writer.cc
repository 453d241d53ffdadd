// gguf/gguf_writer.cc — GGUF v3 serialization and the streaming file write (through AtomicFile).
#include "gguf/gguf_writer.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "platform/file_util.h"

namespace odlm {
namespace {

constexpr uint32_t kGgufVersion = 3;

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutString(std::string* out, const std::string& s) {
  PutU64(out, s.size());
  out->append(s);
}

// Appends a value without its type tag (the caller writes the tag).
void PutValue(std::string* out, const GgufValue& v) {
  switch (v.type()) {
    case GgufValueType::kString:
      PutString(out, v.str());
      return;
    case GgufValueType::kArray: {
      PutU32(out, static_cast<uint32_t>(v.array_type()));
      PutU64(out, v.array_size());
      if (v.array_type() == GgufValueType::kString) {
        for (const auto& s : v.string_array()) PutString(out, s);
      } else if (v.array_type() == GgufValueType::kArray) {
        for (const auto& inner : v.nested_arrays()) PutValue(out, inner);
      } else {
        const auto& b = v.array_bytes();
        out->append(reinterpret_cast<const char*>(b.data()), b.size());
      }
      return;
    }
    default: {
      const uint64_t bits = v.bits();
      out->append(reinterpret_cast<const char*>(&bits), GgufScalarSize(v.type()));
      return;
    }
  }
}

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  CHECK(alignment != 0 && (alignment & (alignment - 1)) == 0 && alignment <= (1u << 30))
      << "alignment " << alignment;
  if (alignment != kGgufDefaultAlignment)
    SetU32("general.alignment", static_cast<uint32_t>(alignment));
}

void GgufWriter::Set(const std::string& key, GgufValue value) {
  for (auto& kv : metadata_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

bool GgufWriter::Remove(const std::string& key) {
  for (auto it = metadata_.begin(); it != metadata_.end(); ++it) {
    if (it->first == key) {
      metadata_.erase(it);
      return true;
    }
  }
  return false;
}

Status GgufWriter::CheckTensor(const std::string& name, DType type,
                               const std::vector<int64_t>& dims, uint64_t* n_bytes) const {
  const std::string what = "GgufWriter tensor '" + name + "'";
  if (name.empty()) return InvalidArgumentError("GgufWriter: empty tensor name");
  for (const auto& t : tensors_)
    if (t.name == name) return InvalidArgumentError(what + ": duplicate name");
  if (dims.empty() || dims.size() > 4)
    return InvalidArgumentError(what + ": " + std::to_string(dims.size()) + " dims; expected 1..4");
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d <= 0 || d > INT64_MAX / n)
      return InvalidArgumentError(what + ": bad dim " + std::to_string(d));
    n *= d;
  }
  const DTypeInfo& info = GetDTypeInfo(type);
  if (dims[0] % info.block_size != 0) {
    return InvalidArgumentError(what + ": dim 0 (" + std::to_string(dims[0]) +
                                ") is not a multiple of the " + std::string(info.name) +
                                " block size " + std::to_string(info.block_size));
  }
  *n_bytes = static_cast<uint64_t>(n / info.block_size) * static_cast<uint64_t>(info.type_size);
  return Status::Ok();
}

Status GgufWriter::AddTensor(const std::string& name, DType type, std::vector<int64_t> dims,
                             std::vector<uint8_t> data) {
  uint64_t n_bytes;
  RETURN_IF_ERROR(CheckTensor(name, type, dims, &n_bytes));
  if (data.size() != n_bytes) {
    return InvalidArgumentError("GgufWriter tensor '" + name + "': " + std::to_string(data.size()) +
                                " bytes of data; expected " + std::to_string(n_bytes));
  }
  const uint64_t offset = AlignUp(data_size_, alignment_);
  tensors_.push_back({name, type, std::move(dims), n_bytes, offset, std::move(data), nullptr});
  data_size_ = offset + n_bytes;
  return Status::Ok();
}

Status GgufWriter::AddTensor(const std::string& name, DType type, std::vector<int64_t> dims,
                             TensorFiller fill) {
  CHECK(fill != nullptr);
  uint64_t n_bytes;
  RETURN_IF_ERROR(CheckTensor(name, type, dims, &n_bytes));
  const uint64_t offset = AlignUp(data_size_, alignment_);
  tensors_.push_back({name, type, std::move(dims), n_bytes, offset, {}, std::move(fill)});
  data_size_ = offset + n_bytes;
  return Status::Ok();
}

std::string GgufWriter::EncodeHeader() const {
  std::string out;
  out.append("GGUF", 4);
  PutU32(&out, kGgufVersion);
  PutU64(&out, tensors_.size());
  PutU64(&out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    PutString(&out, key);
    PutU32(&out, static_cast<uint32_t>(value.type()));
    PutValue(&out, value);
  }
  for (const auto& t : tensors_) {
    PutString(&out, t.name);
    PutU32(&out, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) PutU64(&out, static_cast<uint64_t>(d));
    PutU32(&out, static_cast<uint32_t>(t.type));
    PutU64(&out, t.offset);
  }
  out.resize(AlignUp(out.size(), alignment_), '\0');
  return out;
}

uint64_t GgufWriter::FileSize() const { return EncodeHeader().size() + data_size_; }

Status GgufWriter::WriteTo(const Sink& sink) const {
  const std::string header = EncodeHeader();
  RETURN_IF_ERROR(sink(reinterpret_cast<const uint8_t*>(header.data()), header.size()));
  static const uint8_t kZeros[4096] = {};
  uint64_t pos = 0;  // within the data section
  std::vector<uint8_t> buffer;
  for (const auto& t : tensors_) {
    while (pos < t.offset) {  // padding before this tensor (< alignment)
      const size_t n = static_cast<size_t>(std::min<uint64_t>(t.offset - pos, sizeof(kZeros)));
      RETURN_IF_ERROR(sink(kZeros, n));
      pos += n;
    }
    if (t.fill) {
      buffer.assign(t.n_bytes, 0);
      RETURN_IF_ERROR(t.fill(buffer.data(), t.n_bytes).WithContext("tensor '" + t.name + "'"));
      RETURN_IF_ERROR(sink(buffer.data(), buffer.size()));
    } else {
      RETURN_IF_ERROR(sink(t.data.data(), t.data.size()));
    }
    pos += t.n_bytes;
  }
  return Status::Ok();
}

StatusOr<std::string> GgufWriter::WriteToString() const {
  std::string out;
  RETURN_IF_ERROR(WriteTo([&](const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return Status::Ok();
  }));
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path));
  std::vector<uint8_t> buf;
  buf.reserve(1 << 20);
  auto flush = [&]() -> Status {
    RETURN_IF_ERROR(file->Append(buf.data(), buf.size()));
    buf.clear();
    return Status::Ok();
  };
  RETURN_IF_ERROR(WriteTo([&](const uint8_t* p, size_t n) -> Status {
    while (n > 0) {
      const size_t take = std::min(n, buf.capacity() - buf.size());
      buf.insert(buf.end(), p, p + take);
      p += take;
      n -= take;
      if (buf.size() == buf.capacity()) RETURN_IF_ERROR(flush());
    }
    return Status::Ok();
  }));
  RETURN_IF_ERROR(flush());
  return file->Commit();
}

}  // namespace odlm
