// train/dataset.cc — format names, role weights, LoadDataSet and its bookkeeping, and the split,
// packing and epoch order of examples (contract in dataset.h; the per-format readers live in
// dataset_formats.cc and dataset_chat.cc).
#include "train/dataset.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <iterator>
#include <random>
#include <utility>

#include "base/hash.h"
#include "platform/file_util.h"
#include "train/dataset_formats.h"

namespace odlm::train {

StatusOr<DataFormat> ParseDataFormat(const std::string& name) {
  if (name == "auto") return DataFormat::kAuto;
  if (name == "codi") return DataFormat::kCodi;
  if (name == "chat") return DataFormat::kChat;
  if (name == "text") return DataFormat::kText;
  return InvalidArgumentError("data format '" + name + "' (expected auto, codi, chat or text)");
}

namespace {

bool IsItemSeparator(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

StatusOr<std::map<std::string, float>> ParseRoleWeights(const std::string& spec) {
  std::map<std::string, float> out;
  size_t i = 0;
  while (i < spec.size()) {
    if (IsItemSeparator(spec[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < spec.size() && !IsItemSeparator(spec[j])) ++j;
    const std::string item = spec.substr(i, j - i);
    i = j;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("role weights: '" + item + "' is not ROLE=WEIGHT");
    }
    const std::string role = item.substr(0, eq);
    const char* first = item.data() + eq + 1;
    const char* last = item.data() + item.size();
    double w = 0;
    const auto [end, ec] = std::from_chars(first, last, w);
    if (first == last || ec != std::errc() || end != last || !std::isfinite(w) || w < 0 ||
        !std::isfinite(static_cast<float>(w))) {
      return InvalidArgumentError("role weights: '" + item +
                                  "': the weight must be a finite number >= 0");
    }
    if (!out.emplace(role, static_cast<float>(w)).second) {
      return InvalidArgumentError("role weights: role '" + role + "' is given twice");
    }
  }
  return out;
}

namespace internal {

DataSetBuilder::DataSetBuilder(int32_t max_tokens) : max_tokens_(max_tokens) {
  CHECK(max_tokens >= 1) << max_tokens;
}

int32_t DataSetBuilder::Role(const std::string& name) {
  const auto [it, added] = role_index_.emplace(name, static_cast<int32_t>(data_.role_names.size()));
  if (added) data_.role_names.push_back(name);
  return it->second;
}

void DataSetBuilder::Add(TrainExample e) {
  CHECK(e.weights.size() == e.tokens.size() && e.roles.size() == e.tokens.size());
  if (!e.weights.empty()) e.weights[0] = 0.0f;
  const size_t max = static_cast<size_t>(max_tokens_);
  if (e.tokens.size() > max) {
    e.tokens.resize(max);
    e.weights.resize(max);
    e.roles.resize(max);
    ++data_.stats.truncated;
  }
  double sum = 0.0;
  for (float w : e.weights) {
    CHECK(std::isfinite(w) && w >= 0.0f) << "weight " << w;
    sum += w;
  }
  if (!(sum > 0.0)) {
    ++data_.stats.dropped_empty;
    return;
  }
  ++data_.stats.examples;
  data_.stats.tokens += static_cast<int64_t>(e.tokens.size());
  data_.stats.weight_sum += sum;
  data_.examples.push_back(std::move(e));
}

float RoleWeight(const DataOptions& options, const std::string& role, float fallback) {
  const auto it = options.role_weights.find(role);
  return it == options.role_weights.end() ? fallback : it->second;
}

}  // namespace internal

StatusOr<DataSet> LoadDataSet(const std::string& path, const Tokenizer& tokenizer,
                              const DataOptions& options) {
  if (options.max_tokens < 2) {
    return InvalidArgumentError("max_tokens " + std::to_string(options.max_tokens) +
                                " is too small: a training example needs at least 2 tokens");
  }
  for (const auto& [role, w] : options.role_weights) {
    if (!std::isfinite(w) || w < 0.0f) {
      return InvalidArgumentError("role weight " + role + "=" + std::to_string(w) +
                                  " must be finite and >= 0");
    }
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  std::string_view data = bytes;
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);  // a UTF-8 byte order mark
  const DataFormat format =
      options.format == DataFormat::kAuto ? internal::DetectFormat(data) : options.format;
  internal::DataSetBuilder builder(options.max_tokens);
  switch (format) {
    case DataFormat::kCodi:
      RETURN_IF_ERROR(internal::ReadCodi(path, data, tokenizer, options, &builder));
      break;
    case DataFormat::kChat:
      RETURN_IF_ERROR(internal::ReadChat(path, data, tokenizer, options, &builder));
      break;
    case DataFormat::kText:
    case DataFormat::kAuto:  // DetectFormat never returns kAuto
      RETURN_IF_ERROR(internal::ReadText(data, tokenizer, options, &builder));
      break;
  }
  return std::move(builder).Finish();
}

namespace {

// Fisher-Yates over raw std::mt19937_64 outputs (whose sequence the standard fixes), so the
// result is the same with every standard library. The modulo bias is below n / 2^64.
template <typename T>
void Shuffle(std::vector<T>* v, std::mt19937_64* rng) {
  for (size_t i = v->size(); i > 1; --i) {
    const size_t j = static_cast<size_t>((*rng)() % static_cast<uint64_t>(i));
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

// One SplitMix64 step (base/hash.h): spreads nearby seeds (epoch 0, 1, 2, …) over the whole state.
uint64_t Mix(uint64_t x) { return SplitMix64(x); }

void RecountKept(DataSet* d) {
  d->stats.examples = static_cast<int64_t>(d->examples.size());
  d->stats.tokens = 0;
  d->stats.weight_sum = 0.0;
  for (const TrainExample& e : d->examples) {
    d->stats.tokens += static_cast<int64_t>(e.tokens.size());
    for (float w : e.weights) d->stats.weight_sum += w;
  }
}

}  // namespace

DataSet SplitValidation(DataSet* data, double frac, uint64_t seed) {
  CHECK(data != nullptr);
  CHECK(frac >= 0.0 && frac <= 1.0) << "validation fraction " << frac;
  DataSet val;
  val.role_names = data->role_names;
  const size_t n = data->examples.size();
  size_t k = static_cast<size_t>(std::llround(frac * static_cast<double>(n)));
  if (frac > 0.0 && n >= 2) k = std::max<size_t>(k, 1);
  if (frac < 1.0 && n >= 1) k = std::min(k, n - 1);
  k = std::min(k, n);
  if (k == 0) return val;
  std::mt19937_64 rng(seed);
  Shuffle(&data->examples, &rng);
  val.examples.assign(std::make_move_iterator(data->examples.end() - static_cast<ptrdiff_t>(k)),
                      std::make_move_iterator(data->examples.end()));
  data->examples.resize(n - k);
  RecountKept(data);
  RecountKept(&val);
  return val;
}

std::vector<PackedRow> PackRows(const DataSet& data, int32_t max_tokens, bool pack) {
  CHECK(max_tokens >= 1) << max_tokens;
  const size_t n = data.examples.size();
  CHECK(n <= static_cast<size_t>(INT32_MAX));
  std::vector<PackedRow> rows;
  if (!pack) {
    rows.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t len = static_cast<int64_t>(data.examples[i].tokens.size());
      CHECK(len <= max_tokens) << "example " << i << " has " << len << " tokens";
      rows.push_back({{static_cast<int32_t>(i)}, len});
    }
    return rows;
  }
  // First fit in O(n log n): a max-tree over the free space of n potential rows, opened left to
  // right. Unopened rows are empty and lie right of every opened one, so the leftmost leaf with
  // room is the first opened row that fits, else the next new row.
  size_t leaves = 1;
  while (leaves < n) leaves *= 2;
  std::vector<int64_t> free_space(2 * leaves, max_tokens);  // [2 · leaves], node 1 is the root
  for (size_t i = 0; i < n; ++i) {
    const int64_t len = static_cast<int64_t>(data.examples[i].tokens.size());
    CHECK(len <= max_tokens) << "example " << i << " has " << len << " tokens";
    size_t node = 1;
    while (node < leaves) node = free_space[2 * node] >= len ? 2 * node : 2 * node + 1;
    const size_t r = node - leaves;
    CHECK(r <= rows.size());
    if (r == rows.size()) rows.emplace_back();
    rows[r].examples.push_back(static_cast<int32_t>(i));
    rows[r].n_tokens += len;
    free_space[node] -= len;
    for (node /= 2; node >= 1; node /= 2) {
      free_space[node] = std::max(free_space[2 * node], free_space[2 * node + 1]);
    }
  }
  return rows;
}

std::vector<int32_t> EpochOrder(int64_t n_rows, uint64_t seed, int64_t epoch) {
  CHECK(n_rows >= 0 && n_rows <= INT32_MAX) << n_rows;
  std::vector<int32_t> order(static_cast<size_t>(n_rows));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::mt19937_64 rng(Mix(seed ^ Mix(static_cast<uint64_t>(epoch))));
  Shuffle(&order, &rng);
  return order;
}

}  // namespace odlm::train
