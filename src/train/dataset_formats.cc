// train/dataset_formats.cc — JSONL lines, format detection, and the codi and text readers
// (contract in dataset.h; the chat reader is in dataset_chat.cc).
#include "train/dataset_formats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace odlm::train::internal {

namespace {

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t\r\n\f\v") == s.npos; }

std::string KindName(const JsonValue& v) { return std::string(JsonValue::KindName(v.kind())); }

std::string FormatNumber(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

// Member `key` of segment `name` as a byte offset (a non-negative integer).
Status ReadOffset(const JsonValue& segment, std::string_view key, const std::string& name,
                  uint64_t* out) {
  const std::string field = name + "." + std::string(key);
  ASSIGN_OR_RETURN(const JsonValue* v, Member(segment, key, JsonValue::Kind::kNumber, field));
  if (!v->ToUInt64(out)) {
    return InvalidArgumentError(field + " " + FormatNumber(v->number()) +
                                " must be a non-negative integer (a byte offset)");
  }
  return Status::Ok();
}

void Append(const std::vector<int32_t>& ids, float weight, int32_t role, TrainExample* e) {
  e->tokens.insert(e->tokens.end(), ids.begin(), ids.end());
  e->weights.insert(e->weights.end(), ids.size(), weight);
  e->roles.insert(e->roles.end(), ids.size(), role);
}

}  // namespace

StatusOr<const JsonValue*> Member(const JsonValue& object, std::string_view key,
                                  JsonValue::Kind kind, const std::string& name) {
  const JsonValue* v = object.Find(key);
  if (v == nullptr) return InvalidArgumentError(name + " is missing");
  if (v->kind() != kind) {
    return InvalidArgumentError(
        name + " must be " +
        (kind == JsonValue::Kind::kArray || kind == JsonValue::Kind::kObject ? "an " : "a ") +
        std::string(JsonValue::KindName(kind)) + ", not " + KindName(*v));
  }
  return v;
}

StatusOr<float> ParseWeight(const JsonValue& value, const std::string& name) {
  if (!value.is_number()) {
    return InvalidArgumentError(name + " must be a number, not " + KindName(value));
  }
  const double w = value.number();
  if (!std::isfinite(w) || !std::isfinite(static_cast<float>(w)) || w < 0.0) {
    return InvalidArgumentError(name + " " + FormatNumber(w) + " must be finite and >= 0");
  }
  return static_cast<float>(w);
}

Status ForEachJsonLine(const std::string& path, std::string_view data,
                       const std::function<Status(const JsonValue&)>& fn) {
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == data.npos) nl = data.size();
    const std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (IsBlank(line)) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    StatusOr<JsonValue> value = ParseJson(line);
    if (!value.ok()) {
      return InvalidArgumentError(where + ": invalid JSON: " + value.status().message());
    }
    if (!value->is_object()) {
      return InvalidArgumentError(where + ": expected a JSON object, not " + KindName(*value));
    }
    const Status s = fn(*value);
    if (!s.ok()) return s.WithContext(where);
  }
  return Status::Ok();
}

DataFormat DetectFormat(std::string_view data) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == data.npos) nl = data.size();
    const std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (IsBlank(line)) continue;
    const StatusOr<JsonValue> value = ParseJson(line);
    if (!value.ok() || !value->is_object()) return DataFormat::kText;
    if (value->Find("segments") != nullptr) return DataFormat::kCodi;
    if (value->Find("messages") != nullptr) return DataFormat::kChat;
    return DataFormat::kText;
  }
  return DataFormat::kText;
}

// The bytes between two segments (the export's joining space) belong to the following segment,
// and bytes before the first to the first, so a segment is tokenized from where the previous one
// ended; bytes after the last segment are not trained on. With a SentencePiece space prefix,
// Encode writes "▁" before each piece of text: for a later segment that stands for its leading
// space, which is therefore not encoded again (a later segment without one gets a space that
// is not in the text, since Encode cannot leave the prefix out).
Status ReadCodi(const std::string& path, std::string_view data, const Tokenizer& tokenizer,
                const DataOptions& options, DataSetBuilder* builder) {
  const bool spm_prefix =
      tokenizer.vocab().model == VocabModel::kSpm && tokenizer.vocab().add_space_prefix;
  const bool add_bos = tokenizer.add_bos() && tokenizer.bos_id() >= 0;
  return ForEachJsonLine(path, data, [&](const JsonValue& record) -> Status {
    builder->AddRecord();
    ASSIGN_OR_RETURN(const JsonValue* text_value,
                     Member(record, "text", JsonValue::Kind::kString, "text"));
    ASSIGN_OR_RETURN(const JsonValue* segments,
                     Member(record, "segments", JsonValue::Kind::kArray, "segments"));
    const std::string& text = text_value->str();
    TrainExample e;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < segments->items().size(); ++i) {
      const JsonValue& s = segments->items()[i];
      const std::string name = "segments[" + std::to_string(i) + "]";
      if (!s.is_object()) {
        return InvalidArgumentError(name + " must be an object, not " + KindName(s));
      }
      ASSIGN_OR_RETURN(const JsonValue* role_value,
                       Member(s, "role", JsonValue::Kind::kString, name + ".role"));
      const std::string& role_name = role_value->str();
      uint64_t start = 0, end = 0;
      RETURN_IF_ERROR(ReadOffset(s, "start", name, &start));
      RETURN_IF_ERROR(ReadOffset(s, "end", name, &end));
      const std::string size = std::to_string(text.size());
      if (start > text.size()) {
        return InvalidArgumentError(name + ".start " + std::to_string(start) +
                                    " is past the end of text (" + size + " bytes)");
      }
      if (end > text.size()) {
        return InvalidArgumentError(name + ".end " + std::to_string(end) +
                                    " is past the end of text (" + size + " bytes)");
      }
      if (end < start) {
        return InvalidArgumentError(name + ".end " + std::to_string(end) + " is before its start " +
                                    std::to_string(start));
      }
      if (start < prev_end) {
        return InvalidArgumentError(name + ".start " + std::to_string(start) +
                                    " overlaps segments[" + std::to_string(i - 1) +
                                    "], which ends at " + std::to_string(prev_end) +
                                    " (segments must be in text order)");
      }
      float weight = 0.0f;
      if (const JsonValue* w = s.Find("weight"); w != nullptr) {
        ASSIGN_OR_RETURN(weight, ParseWeight(*w, name + ".weight"));
      } else if (options.role_weights.count(role_name) == 0) {
        return InvalidArgumentError(name + ".weight is missing (and role_weights does not name '" +
                                    role_name + "')");
      }
      weight = RoleWeight(options, role_name, weight);
      const int32_t role = builder->Role(role_name);
      if (i == 0 && add_bos) Append({tokenizer.bos_id()}, 0.0f, role, &e);
      std::string_view piece(text.data() + prev_end, end - prev_end);
      if (i > 0 && spm_prefix && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
      if (!piece.empty()) Append(tokenizer.Encode(piece, false, false), weight, role, &e);
      prev_end = end;
    }
    builder->Add(std::move(e));
    return Status::Ok();
  });
}

// One document: tokenized whole, then cut into pieces of max_tokens that overlap by one token, so
// that every token but the very first is predicted exactly once (a piece's first token is only
// context).
Status ReadText(std::string_view data, const Tokenizer& tokenizer, const DataOptions& options,
                DataSetBuilder* builder) {
  builder->AddRecord();
  const int32_t role = builder->Role("TEXT");
  const float weight = RoleWeight(options, "TEXT", 1.0f);
  const std::vector<int32_t> ids = tokenizer.Encode(data, tokenizer.add_bos(), false);
  const size_t max = static_cast<size_t>(options.max_tokens);
  CHECK(max >= 2);
  for (size_t start = 0; start < ids.size(); start += max - 1) {
    const size_t end = std::min(ids.size(), start + max);
    TrainExample e;
    e.tokens.assign(ids.begin() + static_cast<ptrdiff_t>(start),
                    ids.begin() + static_cast<ptrdiff_t>(end));
    e.weights.assign(e.tokens.size(), weight);
    e.roles.assign(e.tokens.size(), role);
    builder->Add(std::move(e));
    if (end == ids.size()) break;
  }
  return Status::Ok();
}

}  // namespace odlm::train::internal
