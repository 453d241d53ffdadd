// gguf/gguf_value.cc — GgufValue: construction, typed access, comparison.
#include <cstring>

#include "base/check.h"
#include "gguf/gguf_reader.h"

namespace odlm {

std::string GgufValueTypeName(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8:
      return "u8";
    case GgufValueType::kI8:
      return "i8";
    case GgufValueType::kU16:
      return "u16";
    case GgufValueType::kI16:
      return "i16";
    case GgufValueType::kU32:
      return "u32";
    case GgufValueType::kI32:
      return "i32";
    case GgufValueType::kF32:
      return "f32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kU64:
      return "u64";
    case GgufValueType::kI64:
      return "i64";
    case GgufValueType::kF64:
      return "f64";
  }
  return "type#" + std::to_string(static_cast<uint32_t>(type));
}

size_t GgufScalarSize(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      return 0;
  }
  return 0;
}

bool GgufIsIntegerType(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

namespace {

bool IsSigned(GgufValueType t) {
  return t == GgufValueType::kI8 || t == GgufValueType::kI16 || t == GgufValueType::kI32 ||
         t == GgufValueType::kI64;
}

// Sign-extends the raw bits of a signed integer type.
int64_t SignExtend(GgufValueType t, uint64_t bits) {
  switch (t) {
    case GgufValueType::kI8:
      return static_cast<int8_t>(bits);
    case GgufValueType::kI16:
      return static_cast<int16_t>(bits);
    case GgufValueType::kI32:
      return static_cast<int32_t>(bits);
    default:
      return static_cast<int64_t>(bits);
  }
}

template <typename T>
std::vector<uint8_t> Pack(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());  // little-endian host
  return out;
}

}  // namespace

GgufValue GgufValue::Scalar(GgufValueType type, uint64_t bits) {
  const size_t size = GgufScalarSize(type);
  CHECK(size != 0) << "not a scalar type: " << GgufValueTypeName(type);
  GgufValue v;
  v.type_ = type;
  v.bits_ = size == 8 ? bits : (bits & ((uint64_t{1} << (8 * size)) - 1));
  if (type == GgufValueType::kBool) v.bits_ = v.bits_ != 0;
  return v;
}

GgufValue GgufValue::U8(uint8_t x) { return Scalar(GgufValueType::kU8, x); }
GgufValue GgufValue::I8(int8_t x) { return Scalar(GgufValueType::kI8, static_cast<uint8_t>(x)); }
GgufValue GgufValue::U16(uint16_t x) { return Scalar(GgufValueType::kU16, x); }
GgufValue GgufValue::I16(int16_t x) {
  return Scalar(GgufValueType::kI16, static_cast<uint16_t>(x));
}
GgufValue GgufValue::U32(uint32_t x) { return Scalar(GgufValueType::kU32, x); }
GgufValue GgufValue::I32(int32_t x) {
  return Scalar(GgufValueType::kI32, static_cast<uint32_t>(x));
}
GgufValue GgufValue::U64(uint64_t x) { return Scalar(GgufValueType::kU64, x); }
GgufValue GgufValue::I64(int64_t x) {
  return Scalar(GgufValueType::kI64, static_cast<uint64_t>(x));
}
GgufValue GgufValue::F32(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return Scalar(GgufValueType::kF32, b);
}
GgufValue GgufValue::F64(double x) {
  uint64_t b;
  std::memcpy(&b, &x, 8);
  return Scalar(GgufValueType::kF64, b);
}
GgufValue GgufValue::Bool(bool x) { return Scalar(GgufValueType::kBool, x ? 1 : 0); }
GgufValue GgufValue::String(std::string x) {
  GgufValue v;
  v.type_ = GgufValueType::kString;
  v.str_ = std::move(x);
  return v;
}

GgufValue GgufValue::ScalarArray(GgufValueType element_type, std::vector<uint8_t> packed) {
  const size_t size = GgufScalarSize(element_type);
  CHECK(size != 0) << "not a scalar type: " << GgufValueTypeName(element_type);
  CHECK_EQ(packed.size() % size, 0u);
  GgufValue v;
  v.type_ = GgufValueType::kArray;
  v.array_type_ = element_type;
  v.bits_ = packed.size() / size;
  v.packed_ = std::move(packed);
  return v;
}
GgufValue GgufValue::StringArray(std::vector<std::string> x) {
  GgufValue v;
  v.type_ = GgufValueType::kArray;
  v.array_type_ = GgufValueType::kString;
  v.bits_ = x.size();
  v.strings_ = std::move(x);
  return v;
}
GgufValue GgufValue::F32Array(const std::vector<float>& x) {
  return ScalarArray(GgufValueType::kF32, Pack(x));
}
GgufValue GgufValue::I32Array(const std::vector<int32_t>& x) {
  return ScalarArray(GgufValueType::kI32, Pack(x));
}
GgufValue GgufValue::U32Array(const std::vector<uint32_t>& x) {
  return ScalarArray(GgufValueType::kU32, Pack(x));
}
GgufValue GgufValue::I64Array(const std::vector<int64_t>& x) {
  return ScalarArray(GgufValueType::kI64, Pack(x));
}
GgufValue GgufValue::ArrayOfArrays(std::vector<GgufValue> x) {
  for (const auto& e : x) CHECK(e.is_array()) << "ArrayOfArrays element is not an array";
  GgufValue v;
  v.type_ = GgufValueType::kArray;
  v.array_type_ = GgufValueType::kArray;
  v.bits_ = x.size();
  v.arrays_ = std::move(x);
  return v;
}

#define ODLM_GGUF_SCALAR_GETTER(fn, ctype, tag)                                    \
  ctype GgufValue::fn() const {                                                    \
    CHECK(type_ == GgufValueType::tag)                                             \
        << "GgufValue is " << GgufValueTypeName(type_) << ", not " << #fn;         \
    ctype out;                                                                     \
    std::memcpy(&out, &bits_, sizeof(ctype)); /* little-endian: low bytes first */ \
    return out;                                                                    \
  }
ODLM_GGUF_SCALAR_GETTER(u8, uint8_t, kU8)
ODLM_GGUF_SCALAR_GETTER(i8, int8_t, kI8)
ODLM_GGUF_SCALAR_GETTER(u16, uint16_t, kU16)
ODLM_GGUF_SCALAR_GETTER(i16, int16_t, kI16)
ODLM_GGUF_SCALAR_GETTER(u32, uint32_t, kU32)
ODLM_GGUF_SCALAR_GETTER(i32, int32_t, kI32)
ODLM_GGUF_SCALAR_GETTER(u64, uint64_t, kU64)
ODLM_GGUF_SCALAR_GETTER(i64, int64_t, kI64)
ODLM_GGUF_SCALAR_GETTER(f32, float, kF32)
ODLM_GGUF_SCALAR_GETTER(f64, double, kF64)
#undef ODLM_GGUF_SCALAR_GETTER

bool GgufValue::boolean() const {
  CHECK(type_ == GgufValueType::kBool) << "GgufValue is " << GgufValueTypeName(type_);
  return bits_ != 0;
}

const std::string& GgufValue::str() const {
  CHECK(type_ == GgufValueType::kString) << "GgufValue is " << GgufValueTypeName(type_);
  return str_;
}

uint64_t GgufValue::bits() const {
  CHECK(GgufScalarSize(type_) != 0) << "GgufValue is " << GgufValueTypeName(type_);
  return bits_;
}

bool GgufValue::ToInt64(int64_t* out) const {
  if (!GgufIsIntegerType(type_)) return false;
  if (IsSigned(type_)) {
    *out = SignExtend(type_, bits_);
    return true;
  }
  if (bits_ > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = static_cast<int64_t>(bits_);
  return true;
}

bool GgufValue::ToUInt64(uint64_t* out) const {
  if (!GgufIsIntegerType(type_)) return false;
  if (IsSigned(type_)) {
    const int64_t s = SignExtend(type_, bits_);
    if (s < 0) return false;
    *out = static_cast<uint64_t>(s);
    return true;
  }
  *out = bits_;
  return true;
}

GgufValueType GgufValue::array_type() const {
  CHECK(is_array()) << "GgufValue is " << GgufValueTypeName(type_) << ", not an array";
  return array_type_;
}

size_t GgufValue::array_size() const {
  CHECK(is_array()) << "GgufValue is " << GgufValueTypeName(type_) << ", not an array";
  return static_cast<size_t>(bits_);
}

const std::vector<uint8_t>& GgufValue::array_bytes() const {
  CHECK(is_array()) << "GgufValue is " << GgufValueTypeName(type_) << ", not an array";
  return packed_;
}

const std::vector<std::string>& GgufValue::string_array() const {
  CHECK(is_array() && array_type_ == GgufValueType::kString) << "not an array of strings";
  return strings_;
}

const std::vector<GgufValue>& GgufValue::nested_arrays() const {
  CHECK(is_array() && array_type_ == GgufValueType::kArray) << "not an array of arrays";
  return arrays_;
}

GgufValue GgufValue::ArrayElement(size_t i) const {
  CHECK_LT(i, array_size());
  if (array_type_ == GgufValueType::kString) return String(strings_[i]);
  if (array_type_ == GgufValueType::kArray) return arrays_[i];
  const size_t size = GgufScalarSize(array_type_);
  uint64_t b = 0;
  std::memcpy(&b, packed_.data() + i * size, size);
  return Scalar(array_type_, b);
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type_ != o.type_) return false;
  if (type_ == GgufValueType::kString) return str_ == o.str_;
  if (type_ != GgufValueType::kArray) return bits_ == o.bits_;
  return array_type_ == o.array_type_ && bits_ == o.bits_ && packed_ == o.packed_ &&
         strings_ == o.strings_ && arrays_ == o.arrays_;
}

}  // namespace odlm
