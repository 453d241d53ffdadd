// eval/json_fields.h — parsing JSON files and reading typed fields with errors that say where.
//
// Errors name the file and a JSON-pointer-like path, e.g.
//   "coqa.json: data[3].questions[2].input_text: expected a string, got number".
// Functions are pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace odlm::eval {

using Json = nlohmann::json;

// Parses `text`; a syntax error becomes InvalidArgument with the byte offset, as do a number out
// of a double's range (1e999) and arrays or objects nested deeper than kMaxJsonNesting (64)
// levels (refused before parsing: printing or copying such a value would overflow the stack).
StatusOr<Json> ParseJson(std::string_view text, std::string_view origin);

// "string", "number", "object" … for messages.
std::string JsonTypeName(const Json& j);

// Member `key` of object `obj` (at `path`) as a string / int / array / object. NotFound-style
// InvalidArgument errors when absent or of the wrong type.
StatusOr<std::string> GetString(const Json& obj, std::string_view key, std::string_view path);
StatusOr<int> GetInt(const Json& obj, std::string_view key, std::string_view path);
// An integer turn id: 1 or more.
StatusOr<int> GetTurnId(const Json& obj, std::string_view key, std::string_view path);
StatusOr<const Json*> GetArray(const Json& obj, std::string_view key, std::string_view path);
StatusOr<const Json*> GetObject(const Json& obj, std::string_view key, std::string_view path);

}  // namespace odlm::eval
