// gguf/gguf_reader.h — reads GGUF files (v2, v3): typed metadata and a zero-copy tensor table.
//
// A GgufFile is parsed once, completely, when it is opened: the header, every metadata value and
// every tensor info. Every count, length and offset read from the file is checked against the
// bytes that remain (overflow-safe) before it is used, so a corrupt or hostile file yields a
// Status (DataLoss for corrupt or truncated bytes, Unimplemented for valid files this build does
// not support) whose message names the field and its byte offset; it never crashes and never
// allocates memory sized by a number read from the file (at most a small constant times the file
// size).
//
// Tensor data is never copied: GgufTensorInfo::data points into the memory-mapped file (Open) or
// into the caller's buffer (Parse). Those pointers live as long as the GgufFile (Open) or the
// caller's bytes (Parse).
//
// Thread-safety: a GgufFile is immutable after construction; all const methods may be called
// from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "platform/mapped_file.h"
#include "tensor/dtype.h"

namespace odlm {

// The metadata value types; the numeric values are those stored in GGUF files.
enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// "u8", "i32", "f32", "bool", "string", "array", ...; "type#N" for an unknown id.
std::string GgufValueTypeName(GgufValueType type);
// Bytes of one scalar value of `type` in a file (1, 2, 4 or 8); 0 for string, array, unknown.
size_t GgufScalarSize(GgufValueType type);
// True for u8 … i64 (not bool, not floats).
bool GgufIsIntegerType(GgufValueType type);

// One metadata value: a scalar, a string, or an array (of scalars, strings or arrays).
// Owns its contents (copied out of the file; strings are short, arrays of scalars are stored as
// their packed little-endian bytes). Copyable. Accessors of the wrong type are programmer errors
// (CHECK); use the GgufFile::Get* getters for values from untrusted files.
class GgufValue {
 public:
  GgufValue() = default;  // u8 0

  // --- construction (used by the reader and by writers) ---
  static GgufValue U8(uint8_t v);
  static GgufValue I8(int8_t v);
  static GgufValue U16(uint16_t v);
  static GgufValue I16(int16_t v);
  static GgufValue U32(uint32_t v);
  static GgufValue I32(int32_t v);
  static GgufValue U64(uint64_t v);
  static GgufValue I64(int64_t v);
  static GgufValue F32(float v);
  static GgufValue F64(double v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  // A scalar of `type` from its raw little-endian bits (zero-extended to 64). CHECKs a scalar type.
  static GgufValue Scalar(GgufValueType type, uint64_t bits);
  // Array of scalars of `element_type`: `packed` holds count * GgufScalarSize(element_type) bytes
  // (little-endian, as in the file). CHECKs the size.
  static GgufValue ScalarArray(GgufValueType element_type, std::vector<uint8_t> packed);
  static GgufValue StringArray(std::vector<std::string> v);
  static GgufValue F32Array(const std::vector<float>& v);
  static GgufValue I32Array(const std::vector<int32_t>& v);
  static GgufValue U32Array(const std::vector<uint32_t>& v);
  static GgufValue I64Array(const std::vector<int64_t>& v);
  // Array of arrays (any element types; GGUF does not require them to agree).
  static GgufValue ArrayOfArrays(std::vector<GgufValue> v);

  GgufValueType type() const { return type_; }
  bool is_array() const { return type_ == GgufValueType::kArray; }

  // --- scalars (CHECK the exact type) ---
  uint8_t u8() const;
  int8_t i8() const;
  uint16_t u16() const;
  int16_t i16() const;
  uint32_t u32() const;
  int32_t i32() const;
  uint64_t u64() const;
  int64_t i64() const;
  float f32() const;
  double f64() const;
  bool boolean() const;
  const std::string& str() const;
  // Raw bits of a scalar (zero-extended little-endian value). CHECKs a scalar type.
  uint64_t bits() const;
  // Any integer scalar as int64 / uint64; false if it does not fit (negative → uint, huge u64 →
  // int) or the value is not an integer.
  bool ToInt64(int64_t* out) const;
  bool ToUInt64(uint64_t* out) const;

  // --- arrays (CHECK is_array()) ---
  GgufValueType array_type() const;
  size_t array_size() const;
  // Packed little-endian elements of a scalar array; empty for string / nested arrays.
  const std::vector<uint8_t>& array_bytes() const;
  const std::vector<std::string>& string_array() const;  // array_type() == kString
  const std::vector<GgufValue>& nested_arrays() const;   // array_type() == kArray
  // Element i as a standalone value (copies; for generic printing, not for hot loops).
  GgufValue ArrayElement(size_t i) const;

  // Same type, same bits (floats compared bitwise), same elements.
  bool operator==(const GgufValue& other) const;

 private:
  GgufValueType type_ = GgufValueType::kU8;
  GgufValueType array_type_ = GgufValueType::kU8;
  uint64_t bits_ = 0;                 // scalar value, or array element count
  std::string str_;                   // kString
  std::vector<uint8_t> packed_;       // array of scalars
  std::vector<std::string> strings_;  // array of strings
  std::vector<GgufValue> arrays_;     // array of arrays
};

// One entry of the tensor table. Dims are in GGUF order: dims[0] is the fastest-varying (the
// length of a row), so a matrix with `rows` rows of `cols` weights has dims {cols, rows}.
struct GgufTensorInfo {
  std::string name;
  DType type = DType::kF32;
  std::vector<int64_t> dims;      // 1..4 entries, each > 0, dims[0] % block_size == 0
  int64_t n_elements = 0;         // product of dims
  uint64_t offset = 0;            // relative to the data section, a multiple of the alignment
  uint64_t n_bytes = 0;           // n_elements / block_size * type_size
  const uint8_t* data = nullptr;  // n_bytes bytes, zero-copy into the file
};

class GgufFile {
 public:
  // Memory-maps `path` and parses it (zero-copy). Errors are prefixed with the path. Cost: reads
  // the header pages (metadata is copied; tensor data pages are not touched). With
  // MappedFile::Mode::kCopy the whole file is first read into huge-page-advised memory
  // (platform/mapped_file.h): slower to open, faster to stream.
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path,
                                                  MappedFile::Mode mode = MappedFile::Mode::kMap);
  // Parses `size` bytes at `data`; the caller keeps them alive (and unchanged) as long as the
  // GgufFile and any tensor data pointer are used.
  static StatusOr<std::unique_ptr<GgufFile>> Parse(const uint8_t* data, size_t size);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // Byte offset of the data section in the file (a multiple of alignment()).
  uint64_t data_offset() const { return data_offset_; }
  // The path given to Open, or "" for Parse.
  const std::string& path() const { return path_; }
  // The whole file's bytes.
  const uint8_t* file_data() const { return file_data_; }
  size_t file_size() const { return file_size_; }

  // Metadata in file order. Keys are unique.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  // nullptr if absent. O(1).
  const GgufValue* FindValue(std::string_view key) const;

  // Typed getters: NotFound naming the key if absent; InvalidArgument naming the key, the actual
  // and the expected type (or the value that does not fit) otherwise.
  StatusOr<std::string> GetString(std::string_view key) const;
  StatusOr<uint64_t> GetUInt(std::string_view key) const;  // any integer type, must be >= 0
  StatusOr<int64_t> GetInt(std::string_view key) const;    // any integer type that fits int64
  StatusOr<float> GetFloat(std::string_view key) const;    // f32 or f64
  StatusOr<bool> GetBool(std::string_view key) const;
  StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;  // f32 or f64 elements
  StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;  // integer elements

  // Drops the whole file pages within [p, p + n) from the process's resident set when the file
  // is memory-mapped (MappedFile::DropPages); a no-op for copied or parsed bytes. The bytes stay
  // readable. For tensors whose data was copied elsewhere at load.
  void DropPages(const void* p, size_t n) const {
    if (mapping_ != nullptr) mapping_->DropPages(p, n);
  }

  // Tensors in file order. Names are unique; data ranges are aligned and do not overlap.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  // nullptr if absent. O(1).
  const GgufTensorInfo* FindTensor(std::string_view name) const;

 private:
  GgufFile() = default;
  friend class GgufParser;

  std::unique_ptr<MappedFile> mapping_;  // set by Open
  std::string path_;
  const uint8_t* file_data_ = nullptr;
  size_t file_size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string_view, size_t> metadata_index_;  // views into metadata_ keys
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;  // views into tensors_ names
};

// The default alignment of the data section when general.alignment is absent.
inline constexpr uint64_t kGgufDefaultAlignment = 32;

}  // namespace odlm
