// gguf/gguf_getters.cc — GgufFile's typed metadata getters.
#include <cstring>

#include "gguf/gguf_reader.h"

namespace odlm {
namespace {

Status WrongType(std::string_view key, const GgufValue& v, const char* expected) {
  std::string actual = GgufValueTypeName(v.type());
  if (v.is_array()) actual += " of " + GgufValueTypeName(v.array_type());
  return InvalidArgumentError("GGUF metadata key '" + std::string(key) + "' has type " + actual +
                              "; expected " + expected);
}

Status Missing(std::string_view key) {
  return NotFoundError("GGUF metadata key '" + std::string(key) + "' is missing");
}

}  // namespace

StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (v->type() != GgufValueType::kString) return WrongType(key, *v, "string");
  return v->str();
}

StatusOr<uint64_t> GgufFile::GetUInt(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (!GgufIsIntegerType(v->type())) return WrongType(key, *v, "an integer");
  uint64_t out;
  if (!v->ToUInt64(&out)) {
    int64_t s = 0;
    v->ToInt64(&s);
    return InvalidArgumentError("GGUF metadata key '" + std::string(key) + "' is " +
                                std::to_string(s) + "; expected a value >= 0");
  }
  return out;
}

StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (!GgufIsIntegerType(v->type())) return WrongType(key, *v, "an integer");
  int64_t out;
  if (!v->ToInt64(&out)) {
    return InvalidArgumentError("GGUF metadata key '" + std::string(key) + "' is " +
                                std::to_string(v->u64()) + "; expected a value that fits int64");
  }
  return out;
}

StatusOr<float> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (v->type() == GgufValueType::kF32) return v->f32();
  if (v->type() == GgufValueType::kF64) return static_cast<float>(v->f64());
  return WrongType(key, *v, "f32 or f64");
}

StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (v->type() != GgufValueType::kBool) return WrongType(key, *v, "bool");
  return v->boolean();
}

StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_array() || v->array_type() != GgufValueType::kString)
    return WrongType(key, *v, "array of string");
  return v->string_array();
}

StatusOr<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_array() ||
      (v->array_type() != GgufValueType::kF32 && v->array_type() != GgufValueType::kF64))
    return WrongType(key, *v, "array of f32 or f64");
  const std::vector<uint8_t>& bytes = v->array_bytes();
  std::vector<float> out(v->array_size());
  if (v->array_type() == GgufValueType::kF32) {
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * 4);
  } else {
    for (size_t i = 0; i < out.size(); ++i) {
      double d;
      std::memcpy(&d, bytes.data() + i * 8, 8);
      out[i] = static_cast<float>(d);
    }
  }
  return out;
}

StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  const GgufValue* v = FindValue(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_array() || !GgufIsIntegerType(v->array_type()))
    return WrongType(key, *v, "array of integers");
  const GgufValueType et = v->array_type();
  const size_t size = GgufScalarSize(et);
  const std::vector<uint8_t>& bytes = v->array_bytes();
  std::vector<int64_t> out(v->array_size());
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t b = 0;
    std::memcpy(&b, bytes.data() + i * size, size);
    if (!GgufValue::Scalar(et, b).ToInt64(&out[i])) {
      return InvalidArgumentError("GGUF metadata key '" + std::string(key) + "' element " +
                                  std::to_string(i) + " is " + std::to_string(b) +
                                  "; expected a value that fits int64");
    }
  }
  return out;
}

}  // namespace odlm
