// gguf/gguf_reader.cc — the GGUF parser (v2 and v3; both store counts and lengths as u64).
//
// Every read goes through Need(), which checks the bytes that remain before touching them; counts
// are bounded by the bytes that remain divided by the smallest possible encoding of one item, so
// no allocation is larger than a small constant times the file size.
#include "gguf/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <unordered_set>

#include "platform/mapped_file.h"

namespace odlm {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 8;            // arrays of arrays nested deeper are rejected
constexpr uint32_t kMaxDims = 4;
// Smallest encodings, for bounding counts by the bytes that remain.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // empty key, type, one-byte value
constexpr uint64_t kMinTensorInfoBytes =
    8 + 4 + 4 + 8 + 8;  // name len, n_dims, 1 dim, type, offset

std::string Hex(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

}  // namespace

// Parses one file into a GgufFile. Not thread-safe; one parser per parse.
class GgufParser {
 public:
  GgufParser(const uint8_t* data, size_t size, GgufFile* out)
      : data_(data), size_(size), out_(out) {}

  Status Run() {
    out_->file_data_ = data_;
    out_->file_size_ = size_;
    RETURN_IF_ERROR(ParseHeader());
    for (uint64_t i = 0; i < n_kv_; ++i) RETURN_IF_ERROR(ParseKv(i));
    RETURN_IF_ERROR(ApplyAlignment());
    for (uint64_t i = 0; i < n_tensors_; ++i) RETURN_IF_ERROR(ParseTensorInfo(i));
    RETURN_IF_ERROR(PlaceTensorData());
    for (size_t i = 0; i < out_->tensors_.size(); ++i)
      out_->tensor_index_.emplace(out_->tensors_[i].name, i);
    return Status::Ok();
  }

 private:
  uint64_t Remaining() const { return size_ - pos_; }

  Status Truncated(const std::string& field, uint64_t need) const {
    return DataLossError("truncated GGUF file: " + field + " at byte " + std::to_string(pos_) +
                         " needs " + std::to_string(need) + " bytes but only " +
                         std::to_string(Remaining()) + " remain (file size " +
                         std::to_string(size_) + ")");
  }
  Status Need(const std::string& field, uint64_t n) const {
    return n <= Remaining() ? Status::Ok() : Truncated(field, n);
  }
  // Fixed-width little-endian reads; callers have called Need().
  uint64_t Take(size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, data_ + pos_, n);  // little-endian host (x86-64, arm64)
    pos_ += n;
    return v;
  }
  Status ReadU32(const std::string& field, uint32_t* v) {
    RETURN_IF_ERROR(Need(field, 4));
    *v = static_cast<uint32_t>(Take(4));
    return Status::Ok();
  }
  Status ReadU64(const std::string& field, uint64_t* v) {
    RETURN_IF_ERROR(Need(field, 8));
    *v = Take(8);
    return Status::Ok();
  }
  Status ReadString(const std::string& field, std::string* s) {
    const uint64_t at = pos_;
    uint64_t len = 0;
    RETURN_IF_ERROR(ReadU64(field + " length", &len));
    if (len > Remaining()) {
      return DataLossError("GGUF " + field + ": string length " + std::to_string(len) +
                           " at byte " + std::to_string(at) + " exceeds the " +
                           std::to_string(Remaining()) + " bytes that remain in the file");
    }
    s->assign(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status::Ok();
  }

  Status ParseHeader() {
    RETURN_IF_ERROR(Need("magic", 4));
    const uint32_t magic = static_cast<uint32_t>(Take(4));
    if (magic != kGgufMagic) {
      std::string got(reinterpret_cast<const char*>(data_), 4);
      for (char& c : got)
        if (c < 0x20 || c > 0x7e) c = '?';
      return DataLossError("bad magic at byte 0: expected \"GGUF\", got \"" + got + "\" (" +
                           Hex(magic) + "); not a GGUF file");
    }
    uint32_t version = 0;
    RETURN_IF_ERROR(ReadU32("version", &version));
    if (version == 1) {
      return UnimplementedError(
          "GGUF version 1 at byte 4 is not supported (only versions 2 and 3); re-convert the "
          "model with a current llama.cpp");
    }
    if (version != 2 && version != 3) {
      std::string hint;
      if (version == 0x02000000 || version == 0x03000000) hint = " (a big-endian GGUF file?)";
      return UnimplementedError("unknown GGUF version " + std::to_string(version) + " at byte 4" +
                                hint + "; expected 2 or 3");
    }
    out_->version_ = version;
    const uint64_t tensors_at = pos_;
    RETURN_IF_ERROR(ReadU64("tensor count", &n_tensors_));
    const uint64_t kv_at = pos_;
    RETURN_IF_ERROR(ReadU64("metadata count", &n_kv_));
    if (n_kv_ > Remaining() / kMinKvBytes) {
      return DataLossError("GGUF metadata count " + std::to_string(n_kv_) + " at byte " +
                           std::to_string(kv_at) + " cannot fit in the " +
                           std::to_string(Remaining()) + " bytes that remain");
    }
    if (n_tensors_ > Remaining() / kMinTensorInfoBytes) {
      return DataLossError("GGUF tensor count " + std::to_string(n_tensors_) + " at byte " +
                           std::to_string(tensors_at) + " cannot fit in the " +
                           std::to_string(Remaining()) + " bytes that remain");
    }
    return Status::Ok();
  }

  Status ParseKv(uint64_t i) {
    const uint64_t key_at = pos_;
    std::string key;
    RETURN_IF_ERROR(ReadString("metadata #" + std::to_string(i) + " key", &key));
    const std::string field = "metadata key '" + key + "'";
    if (seen_keys_.count(key) != 0) {
      return DataLossError("GGUF duplicate " + field + " at byte " + std::to_string(key_at));
    }
    const uint64_t type_at = pos_;
    uint32_t type = 0;
    RETURN_IF_ERROR(ReadU32(field + " type", &type));
    if (type > static_cast<uint32_t>(GgufValueType::kF64)) {
      return DataLossError("GGUF " + field + ": unknown value type " + std::to_string(type) +
                           " at byte " + std::to_string(type_at) + " (expected 0..12)");
    }
    GgufValue value;
    RETURN_IF_ERROR(ParseValue(field, static_cast<GgufValueType>(type), 0, &value));
    seen_keys_.insert(key);
    out_->metadata_.emplace_back(std::move(key), std::move(value));
    return Status::Ok();
  }

  Status ParseValue(const std::string& field, GgufValueType type, int depth, GgufValue* out) {
    if (type == GgufValueType::kString) {
      std::string s;
      RETURN_IF_ERROR(ReadString(field, &s));
      *out = GgufValue::String(std::move(s));
      return Status::Ok();
    }
    if (type != GgufValueType::kArray) {
      const size_t n = GgufScalarSize(type);
      RETURN_IF_ERROR(Need(field + " (" + GgufValueTypeName(type) + ")", n));
      *out = GgufValue::Scalar(type, Take(n));
      return Status::Ok();
    }
    if (depth >= kMaxArrayDepth) {
      return DataLossError("GGUF " + field + ": arrays nested deeper than " +
                           std::to_string(kMaxArrayDepth) + " at byte " + std::to_string(pos_));
    }
    const uint64_t type_at = pos_;
    uint32_t et = 0;
    RETURN_IF_ERROR(ReadU32(field + " array element type", &et));
    if (et > static_cast<uint32_t>(GgufValueType::kF64)) {
      return DataLossError("GGUF " + field + ": unknown array element type " + std::to_string(et) +
                           " at byte " + std::to_string(type_at) + " (expected 0..12)");
    }
    const GgufValueType elem = static_cast<GgufValueType>(et);
    const uint64_t count_at = pos_;
    uint64_t count = 0;
    RETURN_IF_ERROR(ReadU64(field + " array count", &count));
    // The smallest encoding of one element: a string is at least its u64 length, an array its
    // u32 type and u64 count.
    const uint64_t min_elem = elem == GgufValueType::kString  ? 8
                              : elem == GgufValueType::kArray ? 12
                                                              : GgufScalarSize(elem);
    if (count > Remaining() / min_elem) {
      return DataLossError("GGUF " + field + ": array count " + std::to_string(count) +
                           " at byte " + std::to_string(count_at) + " of " +
                           GgufValueTypeName(elem) + " elements cannot fit in the " +
                           std::to_string(Remaining()) + " bytes that remain");
    }
    if (elem == GgufValueType::kString) {
      std::vector<std::string> strings(count);  // bounded: count <= remaining / 8
      for (uint64_t j = 0; j < count; ++j) {
        const uint64_t at = pos_;
        if (Remaining() < 8) return Truncated(field + "[" + std::to_string(j) + "] length", 8);
        const uint64_t len = Take(8);
        if (len > Remaining()) {
          return DataLossError("GGUF " + field + "[" + std::to_string(j) + "]: string length " +
                               std::to_string(len) + " at byte " + std::to_string(at) +
                               " exceeds the " + std::to_string(Remaining()) +
                               " bytes that remain in the file");
        }
        strings[j].assign(reinterpret_cast<const char*>(data_ + pos_), len);
        pos_ += len;
      }
      *out = GgufValue::StringArray(std::move(strings));
      return Status::Ok();
    }
    if (elem == GgufValueType::kArray) {
      std::vector<GgufValue> arrays;  // grows with what is actually parsed
      for (uint64_t j = 0; j < count; ++j) {
        GgufValue inner;
        const std::string inner_field = field + "[" + std::to_string(j) + "]";
        RETURN_IF_ERROR(ParseValue(inner_field, GgufValueType::kArray, depth + 1, &inner));
        arrays.push_back(std::move(inner));
      }
      *out = GgufValue::ArrayOfArrays(std::move(arrays));
      return Status::Ok();
    }
    const uint64_t n_bytes = count * min_elem;  // no overflow: count <= remaining / min_elem
    std::vector<uint8_t> packed(data_ + pos_, data_ + pos_ + n_bytes);
    pos_ += n_bytes;
    *out = GgufValue::ScalarArray(elem, std::move(packed));
    return Status::Ok();
  }

  Status ApplyAlignment() {
    for (size_t i = 0; i < out_->metadata_.size(); ++i)
      out_->metadata_index_.emplace(out_->metadata_[i].first, i);
    seen_keys_.clear();
    const GgufValue* a = out_->FindValue("general.alignment");
    if (a == nullptr) return Status::Ok();
    uint64_t v;
    if (!a->ToUInt64(&v)) {
      return DataLossError("GGUF metadata key 'general.alignment' has type " +
                           GgufValueTypeName(a->type()) + "; expected u32");
    }
    if (v == 0 || (v & (v - 1)) != 0 || v > (uint64_t{1} << 30)) {
      return DataLossError("GGUF metadata key 'general.alignment' is " + std::to_string(v) +
                           "; expected a non-zero power of two (at most 2^30)");
    }
    out_->alignment_ = v;
    return Status::Ok();
  }

  Status ParseTensorInfo(uint64_t i) {
    const uint64_t name_at = pos_;
    GgufTensorInfo t;
    RETURN_IF_ERROR(ReadString("tensor #" + std::to_string(i) + " name", &t.name));
    const std::string field = "tensor '" + t.name + "' (#" + std::to_string(i) + ")";
    if (!tensor_names_.insert(t.name).second) {
      return DataLossError("GGUF duplicate tensor name: " + field + " at byte " +
                           std::to_string(name_at));
    }
    const uint64_t ndims_at = pos_;
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(ReadU32(field + " n_dims", &n_dims));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return DataLossError("GGUF " + field + ": n_dims " + std::to_string(n_dims) + " at byte " +
                           std::to_string(ndims_at) + "; expected 1.." + std::to_string(kMaxDims));
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim_at = pos_;
      uint64_t dim = 0;
      RETURN_IF_ERROR(ReadU64(field + " dim " + std::to_string(d), &dim));
      if (dim == 0 || dim > static_cast<uint64_t>(INT64_MAX)) {
        return DataLossError("GGUF " + field + ": dim " + std::to_string(d) + " is " +
                             std::to_string(static_cast<int64_t>(dim)) + " at byte " +
                             std::to_string(dim_at) + "; expected > 0");
      }
      if (static_cast<int64_t>(dim) > INT64_MAX / n_elements) {
        return DataLossError("GGUF " + field + ": element count overflows int64 at dim " +
                             std::to_string(d) + " (byte " + std::to_string(dim_at) + ")");
      }
      n_elements *= static_cast<int64_t>(dim);
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.n_elements = n_elements;
    const uint64_t type_at = pos_;
    uint32_t type_id = 0;
    RETURN_IF_ERROR(ReadU32(field + " type", &type_id));
    const std::optional<DTypeInfo> info = LookupDType(type_id);
    if (!info) {
      return UnimplementedError("GGUF " + field + ": unknown tensor type " +
                                std::to_string(type_id) + " at byte " + std::to_string(type_at));
    }
    t.type = info->type;
    if (t.dims[0] % info->block_size != 0) {
      return DataLossError("GGUF " + field + ": dim 0 is " + std::to_string(t.dims[0]) +
                           ", not a multiple of the " + std::string(info->name) + " block size " +
                           std::to_string(info->block_size) + " (byte " +
                           std::to_string(ndims_at + 4) + ")");
    }
    const uint64_t blocks = static_cast<uint64_t>(n_elements / info->block_size);
    if (blocks > UINT64_MAX / static_cast<uint64_t>(info->type_size)) {
      return DataLossError("GGUF " + field + ": byte size overflows (byte " +
                           std::to_string(type_at) + ")");
    }
    t.n_bytes = blocks * static_cast<uint64_t>(info->type_size);
    offset_at_.push_back(pos_);
    RETURN_IF_ERROR(ReadU64(field + " data offset", &t.offset));
    if (t.offset % out_->alignment_ != 0) {
      return DataLossError("GGUF " + field + ": data offset " + std::to_string(t.offset) +
                           " at byte " + std::to_string(offset_at_.back()) +
                           " is misaligned; expected a multiple of the alignment " +
                           std::to_string(out_->alignment_));
    }
    out_->tensors_.push_back(std::move(t));
    return Status::Ok();
  }

  Status PlaceTensorData() {
    const uint64_t a = out_->alignment_;
    const uint64_t pad = (a - pos_ % a) % a;
    out_->data_offset_ = pos_ + pad;  // pos_ <= size_, pad < 2^30: no overflow
    auto& tensors = out_->tensors_;
    if (tensors.empty()) return Status::Ok();  // vocab-only files need no data section
    if (out_->data_offset_ > size_) {
      return DataLossError("truncated GGUF file: the data section starts at byte " +
                           std::to_string(out_->data_offset_) + " (after alignment to " +
                           std::to_string(a) + ") but the file has " + std::to_string(size_) +
                           " bytes");
    }
    const uint64_t data_size = size_ - out_->data_offset_;
    for (size_t i = 0; i < tensors.size(); ++i) {
      GgufTensorInfo& t = tensors[i];
      if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
        return DataLossError(
            "GGUF tensor '" + t.name + "': data [" + std::to_string(t.offset) + ", +" +
            std::to_string(t.n_bytes) + ") (offset field at byte " + std::to_string(offset_at_[i]) +
            ") runs past the end of the file: the data section holds " + std::to_string(data_size) +
            " bytes from byte " + std::to_string(out_->data_offset_));
      }
      t.data = data_ + out_->data_offset_ + t.offset;
    }
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return tensors[x].offset < tensors[y].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const GgufTensorInfo& prev = tensors[order[k - 1]];
      const GgufTensorInfo& cur = tensors[order[k]];
      if (cur.offset < prev.offset + prev.n_bytes) {
        return DataLossError("GGUF tensor '" + cur.name + "': data at offset " +
                             std::to_string(cur.offset) + " (offset field at byte " +
                             std::to_string(offset_at_[order[k]]) + ") overlaps tensor '" +
                             prev.name + "' at [" + std::to_string(prev.offset) + ", " +
                             std::to_string(prev.offset + prev.n_bytes) + ")");
      }
    }
    return Status::Ok();
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  GgufFile* out_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::unordered_set<std::string> seen_keys_;
  std::unordered_set<std::string> tensor_names_;
  std::vector<uint64_t> offset_at_;  // byte position of each tensor's offset field
};

GgufFile::~GgufFile() = default;

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Parse(const uint8_t* data, size_t size) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  GgufParser parser(data, size, file.get());
  RETURN_IF_ERROR(parser.Run());
  return file;
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path, MappedFile::Mode mode) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapping, MappedFile::Open(path, mode));
  static const uint8_t kEmpty[1] = {0};
  const uint8_t* bytes = mapping->data() != nullptr ? mapping->data() : kEmpty;
  auto parsed = Parse(bytes, mapping->size());
  if (!parsed.ok()) return parsed.status().WithContext("'" + path + "'");
  std::unique_ptr<GgufFile> file = std::move(parsed).value();
  file->mapping_ = std::move(mapping);
  file->path_ = path;
  return file;
}

const GgufValue* GgufFile::FindValue(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace odlm
