// train/dataset_formats.h — the per-format readers behind LoadDataSet (internal to train/).
//
// Each reader turns the bytes of one file into TrainExamples and hands them to a DataSetBuilder,
// which does what every format shares: weights[0] = 0, the cut to max_tokens, dropping examples
// with no positive weight, the statistics and the role-name table. Errors are InvalidArgument
// naming "path:line: field" (dataset.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "gguf/json_lite.h"
#include "tokenizer/tokenizer.h"
#include "train/dataset.h"

namespace odlm::train::internal {

class DataSetBuilder {
 public:
  explicit DataSetBuilder(int32_t max_tokens);

  // The index of role `name` in role_names, added on first use.
  int32_t Role(const std::string& name);
  void AddRecord() { ++data_.stats.records; }
  // Takes one example (tokens, weights and roles of equal length; weights finite and >= 0, which
  // is CHECKed): sets weights[0] = 0, cuts it to max_tokens (counted), then keeps it or, when no
  // weight is positive, drops it (counted).
  void Add(TrainExample example);
  DataSet Finish() && { return std::move(data_); }

 private:
  int32_t max_tokens_;
  std::map<std::string, int32_t> role_index_;
  DataSet data_;
};

// options.role_weights[role] when it names the role, else `fallback`.
float RoleWeight(const DataOptions& options, const std::string& role, float fallback);

// Member `key` of `object` when it has kind `kind`; InvalidArgument "<name> is missing" or
// "<name> must be a string, not a number" otherwise.
StatusOr<const JsonValue*> Member(const JsonValue& object, std::string_view key,
                                  JsonValue::Kind kind, const std::string& name);

// A loss weight: a number that is finite (as a float) and >= 0. InvalidArgument naming `name`.
StatusOr<float> ParseWeight(const JsonValue& value, const std::string& name);

// Calls `fn` with each non-blank line of the JSONL text `data` parsed as a JSON object. Lines are
// split at '\n' (a trailing '\r' is JSON whitespace). Invalid JSON, a value that is not an
// object, and any error of `fn` are returned prefixed with "path:line: " (1-based).
Status ForEachJsonLine(const std::string& path, std::string_view data,
                       const std::function<Status(const JsonValue&)>& fn);

// DataFormat::kAuto resolved by content (dataset.h): kCodi, kChat or kText.
DataFormat DetectFormat(std::string_view data);

// The readers: `data` is the whole file (path for messages only). They add records and examples
// to `builder`; options.role_weights were validated by the caller.
Status ReadCodi(const std::string& path, std::string_view data, const Tokenizer& tokenizer,
                const DataOptions& options, DataSetBuilder* builder);
Status ReadChat(const std::string& path, std::string_view data, const Tokenizer& tokenizer,
                const DataOptions& options, DataSetBuilder* builder);
Status ReadText(std::string_view data, const Tokenizer& tokenizer, const DataOptions& options,
                DataSetBuilder* builder);

}  // namespace odlm::train::internal
