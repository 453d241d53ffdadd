// eval/json_fields.cc — typed JSON field access with located error messages.
#include "eval/json_fields.h"

#include <cmath>
#include <limits>

#include "gguf/json_lite.h"

namespace odlm::eval {
namespace {

Status FieldError(std::string_view path, std::string_view key, std::string_view what) {
  std::string where(path);
  if (!where.empty()) where += ".";
  where += key;
  return InvalidArgumentError(where + ": " + std::string(what));
}

StatusOr<const Json*> Member(const Json& obj, std::string_view key, std::string_view path) {
  if (!obj.is_object()) {
    return InvalidArgumentError(std::string(path) + ": expected an object, got " +
                                JsonTypeName(obj));
  }
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return FieldError(path, key, "missing field");
  return &*it;
}

}  // namespace

StatusOr<Json> ParseJson(std::string_view text, std::string_view origin) {
  // Copying or printing a deeply nested value recurses once per level: refuse depth up front.
  if (const size_t at = FindJsonNestingOver(text, kMaxJsonNesting); at != std::string_view::npos) {
    return InvalidArgumentError(std::string(origin) + ": arrays and objects nested deeper than " +
                                std::to_string(kMaxJsonNesting) + " levels (byte " +
                                std::to_string(at) + ")");
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return InvalidArgumentError(std::string(origin) + ": not valid JSON (byte " +
                                std::to_string(e.byte) + "): " + e.what());
  } catch (const Json::exception& e) {  // out_of_range: a number like 1e999
    return InvalidArgumentError(std::string(origin) + ": not valid JSON: " + e.what());
  }
}

std::string JsonTypeName(const Json& j) {
  if (j.is_number()) return "number";
  return j.type_name();
}

StatusOr<std::string> GetString(const Json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(const Json* v, Member(obj, key, path));
  if (!v->is_string()) {
    return FieldError(path, key, "expected a string, got " + JsonTypeName(*v));
  }
  return v->get<std::string>();
}

StatusOr<int> GetInt(const Json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(const Json* v, Member(obj, key, path));
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int>::max())) {
      return static_cast<int>(v->get<uint64_t>());
    }
    return FieldError(path, key, "an integer too large");
  }
  if (v->is_number_integer()) {
    const int64_t i = v->get<int64_t>();
    if (i >= std::numeric_limits<int>::min() && i <= std::numeric_limits<int>::max()) {
      return static_cast<int>(i);
    }
    return FieldError(path, key, "an integer too large");
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::floor(d) == d && std::abs(d) < 1e9) return static_cast<int>(d);
  }
  return FieldError(path, key, "expected an integer, got " + JsonTypeName(*v));
}

StatusOr<int> GetTurnId(const Json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(int v, GetInt(obj, key, path));
  if (v < 1) return FieldError(path, key, "a turn id must be 1 or more, got " + std::to_string(v));
  return v;
}

StatusOr<const Json*> GetArray(const Json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(const Json* v, Member(obj, key, path));
  if (!v->is_array()) return FieldError(path, key, "expected an array, got " + JsonTypeName(*v));
  return v;
}

StatusOr<const Json*> GetObject(const Json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(const Json* v, Member(obj, key, path));
  if (!v->is_object()) {
    return FieldError(path, key, "expected an object, got " + JsonTypeName(*v));
  }
  return v;
}

}  // namespace odlm::eval
