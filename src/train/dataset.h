// train/dataset.h — training data: files → token sequences with per-token loss weights.
//
// A TrainExample is one conversation or text piece as the trainer sees it: token ids and, per
// position t, the weight of the loss of predicting tokens[t] from tokens[0..t-1] (weights[0] is
// always 0: nothing predicts the first token). A position takes the role of the token being
// predicted (CoDi's role weighting, ../shared/testdata/README.md train/); roles[t] indexes
// role_names.
//
// Formats (DataFormat):
//   codi  JSONL as `odlm codi export --format odlm` writes it: {"id", "text", "segments": [{"role",
//         "start", "end", "weight"}]} — each segment's bytes text[start, end) are tokenized on
//         their own (no token crosses a segment boundary; the bytes between two segments — the
//         export's single joining space — belong to the following segment, bytes after the last one
//         are not trained on), BOS first when the tokenizer adds one (Tokenizer::add_bos, as at
//         inference); a token's weight is its segment's "weight" unless DataOptions::role_weights
//         names the role ("weight" may then be left out). Segments must be in text order without
//         overlap. With a SentencePiece space prefix, the prefix Encode writes before a later
//         segment stands for that segment's leading space (a later segment without one gets a
//         space that is not in the text).
//   chat  Hugging Face chat JSONL: {"messages": [{"role", "content"}], optional "weights": [per
//         message]} rendered with a built-in chat template (tokenizer/chat_template.h) through
//         RenderChatSegments + EncodeSegments, so the ids are exactly EncodeChat's. Roles: system,
//         user, assistant, context. A token's role is its message's role; template text
//         (role headers, separators, end-of-turn tokens) belongs to the message it closes or opens
//         as the template places it: a message's text starts where the rendering of the messages
//         before it (with the generation prompt before an assistant message) stops agreeing with
//         the whole, so an assistant turn's end-of-turn token carries the turn's loss and its role
//         header (the prompt's end at inference) belongs to the message before. Templates that
//         fold system/context messages into one turn at the start attribute that turn only
//         approximately. Default weights: "assistant" 1, every other role 0 (a record's "weights"
//         override them, role_weights override both). Cost: O(n²) renders for n messages.
//   text  plain UTF-8 text: tokenized whole (BOS first when the tokenizer adds one), cut into
//         pieces of at most max_tokens tokens that overlap by one token (a piece's first token is
//         context only, so every token but the first is predicted exactly once), role "TEXT",
//         weight 1 (role_weights may rename nothing; TEXT=w scales it). The file is one record.
//   auto  by content: a first non-blank line that is a JSON object with "segments" → codi, with
//         "messages" → chat, otherwise text.
// JSONL: one object per line; blank lines are skipped (and still counted for line numbers). A
// leading UTF-8 byte order mark is ignored. Examples longer than max_tokens are cut to max_tokens
// (the tail is dropped and counted in DataStats::truncated); then examples with no positive weight
// are dropped (counted).
//
// Errors: a malformed record is InvalidArgument naming the file, the line (1-based) and the field
// ("data.jsonl:17: segments[2].end 912 is past the end of text (880 bytes)"); max_tokens < 2 or a
// negative / non-finite role weight is InvalidArgument, an unknown chat template NotFound. One bad
// record fails the load. Loading never writes.
// Thread-safety: pure functions. Cost: one pass over the file plus tokenization.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace odlm::train {

struct TrainExample {
  std::vector<int32_t> tokens;  // [n]
  std::vector<float> weights;   // [n], weights[0] == 0, all >= 0 and finite
  std::vector<int32_t> roles;   // [n], index into DataSet::role_names (roles[0] is BOS's role)
};

enum class DataFormat { kAuto, kCodi, kChat, kText };
// "auto", "codi", "chat", "text"; InvalidArgument otherwise.
StatusOr<DataFormat> ParseDataFormat(const std::string& name);

struct DataOptions {
  DataFormat format = DataFormat::kAuto;
  // Role name → loss weight, overriding the file's and the defaults (names as in the data,
  // case-sensitive: "AGENT", "assistant"). Weights must be finite and >= 0.
  std::map<std::string, float> role_weights;
  int32_t max_tokens = 512;              // the training context; longer examples are cut
  std::string chat_template = "chatml";  // chat format only
};

struct DataStats {
  int64_t records = 0;        // non-blank JSONL lines read (text: 1 per file)
  int64_t examples = 0;       // examples kept
  int64_t dropped_empty = 0;  // no token with positive weight
  int64_t truncated = 0;      // examples cut to max_tokens
  int64_t tokens = 0;         // tokens in kept examples
  double weight_sum = 0.0;    // Σ weights over kept examples
};

struct DataSet {
  std::vector<TrainExample> examples;
  std::vector<std::string> role_names;  // roles[t] indexes this
  DataStats stats;
};

// Parses "CONTEXT=0,USER=0,AGENT=1" (also "CONTEXT=0.1 USER=0"); InvalidArgument naming the bad
// item.
StatusOr<std::map<std::string, float>> ParseRoleWeights(const std::string& spec);

// Reads `path` in `options.format`, tokenized with `tokenizer`.
StatusOr<DataSet> LoadDataSet(const std::string& path, const Tokenizer& tokenizer,
                              const DataOptions& options);

// Moves a validation share out of `data`: examples are shuffled with `seed` (std::mt19937_64,
// Fisher-Yates, deterministic on every platform) and the last k = round(frac · n) (at least 1 when
// frac > 0 and n >= 2, at most n − 1 when frac < 1) become the returned set's examples; the rest
// stay in `data` in shuffled order (frac 0: nothing moves or is shuffled). Role names are copied.
// Stats: examples, tokens and weight_sum are recounted for both sets; the loading counters
// (records, dropped_empty, truncated) stay with `data`. frac in [0, 1] (CHECKed).
DataSet SplitValidation(DataSet* data, double frac, uint64_t seed);

// A batch row: examples packed together up to `max_tokens` tokens in total, each still its own
// sequence (positions from 0, no attention across examples). Without packing, one example per row.
struct PackedRow {
  std::vector<int32_t> examples;  // indices into DataSet::examples, in order
  int64_t n_tokens = 0;
};
// Greedy first-fit in the given order (O(n log n)); every example lands in exactly one row, row
// indices ascending; rows never exceed max_tokens (examples were already cut to it: CHECKed).
std::vector<PackedRow> PackRows(const DataSet& data, int32_t max_tokens, bool pack);

// The order of rows for epoch `epoch`: a permutation of [0, n_rows) from (seed, epoch),
// deterministic on every platform (own Fisher-Yates over std::mt19937_64 outputs; no
// std::shuffle / std::uniform_int_distribution, whose results differ between standard libraries).
std::vector<int32_t> EpochOrder(int64_t n_rows, uint64_t seed, int64_t epoch);

}  // namespace odlm::train
