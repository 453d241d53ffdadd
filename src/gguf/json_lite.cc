// gguf/json_lite.cc — recursive-descent JSON parser (hand-written: the core links no JSON library).
#include "gguf/json_lite.h"

#include <cstdlib>
#include <unordered_set>

#include "base/utf8.h"

namespace odlm {

bool JsonValue::boolean() const {
  CHECK(kind_ == Kind::kBool);
  return bool_;
}
const std::string& JsonValue::str() const {
  CHECK(kind_ == Kind::kString);
  return text_;
}
const std::vector<JsonValue>& JsonValue::items() const {
  CHECK(kind_ == Kind::kArray);
  return items_;
}
const std::vector<std::pair<std::string, JsonValue>>& JsonValue::members() const {
  CHECK(kind_ == Kind::kObject);
  return members_;
}
double JsonValue::number() const {
  CHECK(kind_ == Kind::kNumber);
  return std::strtod(text_.c_str(), nullptr);
}

bool JsonValue::ToUInt64(uint64_t* out) const {
  if (kind_ != Kind::kNumber || text_.empty() || text_[0] == '-') return false;
  uint64_t v = 0;
  for (char c : text_) {
    if (c < '0' || c > '9') return false;  // fraction or exponent
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool JsonValue::ToInt64(int64_t* out) const {
  if (kind_ != Kind::kNumber || text_.empty()) return false;
  const bool neg = text_[0] == '-';
  JsonValue magnitude;
  magnitude.kind_ = Kind::kNumber;
  magnitude.text_ = neg ? text_.substr(1) : text_;
  uint64_t m = 0;
  if (!magnitude.ToUInt64(&m)) return false;
  if (!neg && m > static_cast<uint64_t>(INT64_MAX)) return false;
  if (neg && m > static_cast<uint64_t>(INT64_MAX) + 1) return false;
  *out = neg ? static_cast<int64_t>(0 - m) : static_cast<int64_t>(m);
  return true;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string_view JsonValue::KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "bool";
    case Kind::kNumber:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return "array";
    case Kind::kObject:
      return "object";
  }
  return "?";
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  StatusOr<JsonValue> Document() {
    JsonValue v;
    RETURN_IF_ERROR(Value(&v, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("trailing bytes after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Status Error(const std::string& what) const {
    return InvalidArgumentError("JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status Value(JsonValue* v, int depth) {
    if (depth > kMaxDepth) return Error("nesting deeper than 64 levels");
    SkipSpace();
    if (pos_ >= s_.size()) return Error("unexpected end, expected a value");
    const char c = s_[pos_];
    if (c == '{') return Object(v, depth);
    if (c == '[') return Array(v, depth);
    if (c == '"') {
      v->kind_ = JsonValue::Kind::kString;
      return String(&v->text_);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return Number(v);
    if (Literal("true")) {
      v->kind_ = JsonValue::Kind::kBool;
      v->bool_ = true;
      return Status::Ok();
    }
    if (Literal("false")) {
      v->kind_ = JsonValue::Kind::kBool;
      return Status::Ok();
    }
    if (Literal("null")) return Status::Ok();
    return Error(std::string("unexpected character '") + c + "', expected a value");
  }

  Status Object(JsonValue* v, int depth) {
    v->kind_ = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    std::unordered_set<std::string> seen;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a string key");
      std::string key;
      const size_t key_pos = pos_;
      RETURN_IF_ERROR(String(&key));
      if (!seen.insert(key).second) {
        return InvalidArgumentError("JSON at byte " + std::to_string(key_pos) +
                                    ": duplicate key \"" + key + "\"");
      }
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("expected ':' after a key");
      ++pos_;
      JsonValue member;
      RETURN_IF_ERROR(Value(&member, depth + 1));
      v->members_.emplace_back(std::move(key), std::move(member));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or '}' in an object");
    }
  }

  Status Array(JsonValue* v, int depth) {
    v->kind_ = JsonValue::Kind::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      JsonValue item;
      RETURN_IF_ERROR(Value(&item, depth + 1));
      v->items_.push_back(std::move(item));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or ']' in an array");
    }
  }

  Status Number(JsonValue* v) {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t b = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > b;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return Error("malformed number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Error("malformed number: digits expected after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return Error("malformed number: digits expected in the exponent");
    }
    v->kind_ = JsonValue::Kind::kNumber;
    v->text_ = std::string(s_.substr(start, pos_ - start));
    return Status::Ok();
  }

  Status Hex4(uint32_t* out) {
    if (s_.size() - pos_ < 4) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Error("bad hex digit in a \\u escape");
      }
    }
    *out = v;
    return Status::Ok();
  }

  Status String(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return Error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error("control character inside a string");
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return Error("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          RETURN_IF_ERROR(Hex4(&cp));
          if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t lo = 0;
            if (s_.substr(pos_, 2) != "\\u") return Error("unpaired high surrogate");
            pos_ += 2;
            RETURN_IF_ERROR(Hex4(&lo));
            if (lo < 0xDC00 || lo >= 0xE000) return Error("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return Error("unpaired low surrogate");
          }
          odlm::AppendUtf8(cp, out);
          break;
        }
        default:
          return Error(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

StatusOr<JsonValue> ParseJson(std::string_view text) { return JsonParser(text).Document(); }

size_t FindJsonNestingOver(std::string_view text, int max_depth, bool comments) {
  int depth = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '"') {  // a string: up to the next unescaped quote
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (comments && c == '/' && i + 1 < n && text[i + 1] == '/') {
      while (i < n && text[i] != '\n') ++i;
    } else if (comments && c == '/' && i + 1 < n && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) break;
      i = end + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace odlm
