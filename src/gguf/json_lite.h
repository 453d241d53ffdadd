// gguf/json_lite.h — a small, strict JSON reader for the two JSON documents the core must read:
// the header of a safetensors file and a PEFT adapter_config.json.
//
// Written by hand because the on-device core links only the C++ standard library (ARCHITECTURE.md
// rule 1); frontends use nlohmann_json instead. It reads RFC 8259 JSON (UTF-8, \u escapes with
// surrogate pairs) into a small tree. Numbers keep their source text so that 64-bit integers
// (safetensors byte offsets) are read exactly. Nesting deeper than 64 levels, trailing bytes,
// duplicate object keys and malformed input are errors naming the byte offset.
//
// Cost: O(input) time; the tree takes a small constant times the input size.
// Thread-safety: JsonValue is an immutable value once parsed; const methods are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace odlm {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  // Accessors CHECK the kind.
  bool boolean() const;
  const std::string& str() const;                                         // kString
  const std::vector<JsonValue>& items() const;                            // kArray
  const std::vector<std::pair<std::string, JsonValue>>& members() const;  // kObject, file order
  // A number as double (kNumber; CHECKed).
  double number() const;
  // A number that is a non-negative integer without fraction/exponent and fits in uint64.
  bool ToUInt64(uint64_t* out) const;
  // An integer number (no fraction/exponent) that fits in int64.
  bool ToInt64(int64_t* out) const;

  // Object member by key, or nullptr (also nullptr when this is not an object). O(members).
  const JsonValue* Find(std::string_view key) const;

  // "null", "bool", "number", "string", "array", "object".
  static std::string_view KindName(Kind kind);

 private:
  friend class JsonParser;
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;  // string contents, or a number's source text
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// Parses one JSON document (surrounding whitespace allowed). InvalidArgument naming the byte
// offset and what was expected on malformed input.
StatusOr<JsonValue> ParseJson(std::string_view text);

// The nesting depth JSON may have in the frontends, which parse with nlohmann_json and yaml-cpp:
// their parsers do not recurse, but copying, comparing or printing a value does, so a value nested
// hundreds of thousands of levels deep overflows the stack. Real requests, keys files, graphs and
// datasets nest fewer than 10 levels.
inline constexpr int kMaxJsonNesting = 64;

// Where `text`, read as JSON, first opens an array or object deeper than `max_depth` levels: the
// byte offset of that '[' or '{', or std::string_view::npos when it never does. Strings (with
// their escapes) are skipped; with `comments`, so are // and /* */ comments (nlohmann_json's
// ignore_comments). Malformed text is scanned as far as it goes, so no parser reading the same
// bytes gets deeper than this scan saw. O(text) time, no allocation, no recursion.
size_t FindJsonNestingOver(std::string_view text, int max_depth, bool comments = false);

}  // namespace odlm
