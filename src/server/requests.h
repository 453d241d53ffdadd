// server/requests.h — parsing and validation of request bodies (OpenAI chat/completions, contexts).
//
// Parsing never throws and never trusts the input: a malformed body (including a number beyond a
// double's range, like 1e999, and arrays or objects nested deeper than kMaxJsonNesting = 64
// levels, refused before parsing) is a 400 "invalid_json"; a field of the wrong type, a missing
// field or an out-of-range value is a 400 ApiError naming the field (`param`) and what was
// expected. Messages quote at most 40 bytes of a value the client sent. Unknown fields are ignored
// (OpenAI clients send many), except those that would change the result in a way we cannot honour
// (n > 1, logprobs, tools), which are refused. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/api_error.h"

namespace odlm::server {

// Bounds a request may ask for; the service sets them from its configuration.
struct RequestLimits {
  int32_t max_tokens_cap = 4096;     // largest max_tokens accepted
  int32_t default_max_tokens = 256;  // when the request does not say
  size_t max_stop_strings = 4;
  size_t max_stop_bytes = 256;
  size_t max_messages = 1024;
};

// One adapter a request asks for: a registered name and its scale (nullopt: the scale it was
// registered with).
struct AdapterParam {
  std::string name;
  std::optional<float> scale;
};
inline constexpr float kMaxAdapterScale = 16.0f;  // |scale| accepted in a request
inline constexpr size_t kMaxRequestAdapters = 8;
inline constexpr size_t kMaxAdapterNameBytes = 255;  // a file name's longest stem

// Extension: a composite task (odlm/compose.h), "compose": {"mode": "two-pass" | "merged",
// "stages": [{"adapters": [...], "template"?: "... {output} ..."}, ...], "merge_method"?:
// "linear" | "ties" | "dare" | "cat", "merge_rank"?: int}. Shapes are checked here; names and
// templates by the service.
struct ComposeStageParam {
  std::vector<AdapterParam> adapters;  // may be empty (the base model)
  std::string prompt_template;         // "" : the default
};
struct ComposeParam {
  bool merged = false;  // "mode": "merged"; else "two-pass"
  std::vector<ComposeStageParam> stages;
  std::string merge_method = "linear";
  int32_t merge_rank = 0;
};
inline constexpr size_t kMaxComposeStagesRequest = 4;
inline constexpr size_t kMaxComposeTemplateBytes = 8192;

// Extension: speculative decoding for one request (odlm/speculative.h). "speculative": false
// (off), true (the server's settings; prompt lookup of 3- down to 2-grams if the server has no
// drafter), or {"draft_max"?: 0..64, "lookup_ngram"?: 0..16, "lookup_ngram_min"?: 1..16,
// "draft_p_min"?: 0..1, "draft_model"?: bool} over the server's settings (draft_model: use the
// draft model the server was started with; a request cannot name a file). Greedy output is the
// same with it on or off; sampled output keeps its distribution.
struct SpeculativeParam {
  bool enabled = true;
  std::optional<int32_t> draft_max, lookup_ngram, lookup_ngram_min;
  std::optional<float> draft_p_min;
  std::optional<bool> draft_model;
};
inline constexpr int32_t kMaxRequestDraft = 64;
inline constexpr int32_t kMaxRequestNgram = 16;

// Sampling and length settings common to every generating request.
struct GenerationParams {
  float temperature = 1.0f;  // OpenAI's default; 0 = greedy
  float top_p = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t max_tokens = 0;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;     // extension (as llama.cpp's server): generate past end-of-text
  bool chat_reply = false;     // set by the service for chat requests: the reply's leading
                               // whitespace is not sent (GenerateOptions::trim_leading_space)
  // Extension: the LoRA adapters to compute with, [{"name", "scale"?}]. nullopt (field absent):
  // the base model. Names are checked against the registry by the service, not here.
  std::optional<std::vector<AdapterParam>> adapters;
  // Extension: run as a composite task (chat and completions only; not with "adapters"). Every
  // pass uses the other settings (max_tokens, stop, … apply per pass); a stream carries the last
  // pass's text.
  std::optional<ComposeParam> compose;
  // Extension: see SpeculativeParam. nullopt (absent or null): the server's settings.
  std::optional<SpeculativeParam> speculative;
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "context" (a grounding document)
  std::string content;
};

struct ChatCompletionRequest {
  std::string model;  // may be empty; the service serves one model
  std::vector<ChatMessage> messages;
  GenerationParams params;
};

struct CompletionRequest {
  std::string model;
  // Text, or token ids (OpenAI allows an array of integers).
  std::variant<std::string, std::vector<int32_t>> prompt;
  GenerationParams params;
};

struct CreateContextRequest {
  std::string system;   // may be empty
  std::string context;  // a grounding document, kept as the context's first message; may be empty
};

struct ContextMessageRequest {
  std::string content;
  GenerationParams params;
};

// Either the parsed request or the 400 error to answer with.
template <typename T>
using ParseResult = std::variant<T, ApiError>;

ParseResult<ChatCompletionRequest> ParseChatCompletion(std::string_view body,
                                                       const RequestLimits& limits);
ParseResult<CompletionRequest> ParseCompletion(std::string_view body, const RequestLimits& limits);
ParseResult<CreateContextRequest> ParseCreateContext(std::string_view body);
ParseResult<ContextMessageRequest> ParseContextMessage(std::string_view body,
                                                       const RequestLimits& limits);

// POST /v1/adapters: {"name": "...", "path": "...", "scale"?: number}.
struct RegisterAdapterRequest {
  std::string name;
  std::string path;
  float scale = 1.0f;  // the scale requests get when they name it without one
};
ParseResult<RegisterAdapterRequest> ParseRegisterAdapter(std::string_view body);
// PUT /v1/adapters/{name}: {"path", "scale"?} (a "name" field, if any, must be `name`).
ParseResult<RegisterAdapterRequest> ParseReplaceAdapter(std::string_view body,
                                                        const std::string& name);

}  // namespace odlm::server
