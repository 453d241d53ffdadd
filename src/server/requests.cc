// server/requests.cc — request parsing and validation (nlohmann::json, non-throwing use only).
#include "server/requests.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "gguf/json_lite.h"

namespace odlm::server {
namespace {

using nlohmann::json;

std::string TypeName(const json& v) { return v.type_name(); }

// A value as an error message shows it: scalars as JSON (strings cut at 40 bytes), arrays and
// objects by type only. Never the whole of a value the client sent, which may be megabytes.
std::string Brief(const json& v) {
  if (v.is_array() || v.is_object()) return std::string("an ") + TypeName(v);
  const auto replace = json::error_handler_t::replace;  // invalid UTF-8 never throws
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > 40) return json(s.substr(0, 40)).dump(-1, ' ', false, replace) + "...";
  }
  return v.dump(-1, ' ', false, replace);
}
std::string Brief(const std::string& s) { return Brief(json(s)); }

ApiError WrongType(const std::string& field, const char* expected, const json& v) {
  return BadRequest("'" + field + "' must be " + expected + ", got " + TypeName(v), field,
                    "invalid_type");
}

// Parses the body as a JSON object, or explains why it is not one.
std::variant<json, ApiError> ParseObject(std::string_view body) {
  if (body.empty()) {
    return BadRequest("the request body is empty; expected a JSON object", "", "invalid_json");
  }
  // Copying or printing a deeply nested value recurses once per level: refuse depth up front.
  if (const size_t at = FindJsonNestingOver(body, kMaxJsonNesting); at != std::string_view::npos) {
    return BadRequest("the request body nests arrays and objects deeper than " +
                          std::to_string(kMaxJsonNesting) + " levels (at byte " +
                          std::to_string(at) + ")",
                      "", "invalid_json");
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Find where it breaks, for the message (the non-throwing parse does not say). A syntax
    // error is a parse_error; a number too large for a double (1e999) is an out_of_range.
    std::string why;
    try {
      json probe = json::parse(body.begin(), body.end());
      (void)probe;
    } catch (const json::parse_error& e) {
      why = " (at byte " + std::to_string(e.byte) + ")";
    } catch (const json::out_of_range&) {
      why = ": a number is out of the range of a double";
    } catch (const json::exception&) {
    }
    return BadRequest("the request body is not valid JSON" + why, "", "invalid_json");
  }
  if (!doc.is_object()) {
    return BadRequest("the request body must be a JSON object, got " + TypeName(doc), "",
                      "invalid_json");
  }
  return doc;
}

// Optional number field within [lo, hi]. Returns an error or nothing (leaving *out unchanged).
std::optional<ApiError> GetNumber(const json& o, const char* field, float lo, float hi,
                                  float* out) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return WrongType(field, "a number", *it);
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    return BadRequest("'" + std::string(field) + "' must be between " + std::to_string(lo) +
                          " and " + std::to_string(hi) + ", got " + Brief(*it),
                      field, "out_of_range");
  }
  *out = static_cast<float>(v);
  return std::nullopt;
}

std::optional<ApiError> GetBool(const json& o, const char* field, bool* out) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return WrongType(field, "a boolean", *it);
  *out = it->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> GetString(const json& o, const char* field, bool required,
                                  std::string* out) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) {
    if (required) {
      return BadRequest("missing required field '" + std::string(field) + "'", field,
                        "missing_field");
    }
    return std::nullopt;
  }
  if (!it->is_string()) return WrongType(field, "a string", *it);
  *out = it->get<std::string>();
  return std::nullopt;
}

// `field` ("adapters", "compose.stages[1].adapters"): [{"name": string, "scale"?: number}, ...]
// (at most kMaxRequestAdapters, no repeats).
std::optional<ApiError> ParseAdapterList(const json& v, const std::string& field,
                                         std::vector<AdapterParam>* result) {
  const json* it = &v;
  if (!it->is_array()) return WrongType(field, "an array of {\"name\", \"scale\"}", *it);
  if (it->size() > kMaxRequestAdapters) {
    return BadRequest("'" + field + "' may hold at most " + std::to_string(kMaxRequestAdapters) +
                          " adapters, got " + std::to_string(it->size()),
                      field, "out_of_range");
  }
  std::vector<AdapterParam> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (!a.is_object()) return WrongType(f, "an object {\"name\", \"scale\"}", a);
    AdapterParam ap;
    if (auto e = GetString(a, "name", true, &ap.name)) {
      e->param = f + ".name";
      return e;
    }
    if (ap.name.empty()) {
      return BadRequest("'" + f + ".name' must not be empty", f + ".name", "invalid_value");
    }
    if (ap.name.size() > kMaxAdapterNameBytes) {  // no registered name is longer
      return BadRequest(
          "'" + f + ".name' is longer than " + std::to_string(kMaxAdapterNameBytes) + " bytes",
          f + ".name", "out_of_range");
    }
    float scale = 1.0f;
    if (auto s = a.find("scale"); s != a.end() && !s->is_null()) {
      if (auto e = GetNumber(a, "scale", -kMaxAdapterScale, kMaxAdapterScale, &scale)) {
        e->param = f + ".scale";
        return e;
      }
      ap.scale = scale;
    }
    for (const auto& prev : out) {
      if (prev.name == ap.name) {
        return BadRequest("adapter " + Brief(ap.name) + " is named twice in '" + field + "'",
                          f + ".name", "invalid_value");
      }
    }
    out.push_back(std::move(ap));
  }
  *result = std::move(out);
  return std::nullopt;
}

std::optional<ApiError> ParseAdapters(const json& o, GenerationParams* p) {
  auto it = o.find("adapters");
  if (it == o.end() || it->is_null()) return std::nullopt;
  std::vector<AdapterParam> out;
  if (auto e = ParseAdapterList(*it, "adapters", &out)) return e;
  p->adapters = std::move(out);
  return std::nullopt;
}

// "compose": see ComposeParam. Not with "adapters" (each stage names its own).
std::optional<ApiError> ParseCompose(const json& o, GenerationParams* p) {
  auto it = o.find("compose");
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return WrongType("compose", "an object {\"mode\", \"stages\"}", *it);
  if (p->adapters) {
    return BadRequest(
        "'adapters' and 'compose' cannot be used together; give each stage its "
        "adapters in 'compose.stages[i].adapters'",
        "adapters", "invalid_value");
  }
  ComposeParam c;
  std::string mode;
  if (auto e = GetString(*it, "mode", true, &mode)) {
    e->param = "compose.mode";
    return e;
  }
  if (mode != "two-pass" && mode != "merged") {
    return BadRequest("'compose.mode' must be \"two-pass\" or \"merged\", got " + Brief(mode),
                      "compose.mode", "invalid_value");
  }
  c.merged = mode == "merged";
  if (auto e = GetString(*it, "merge_method", false, &c.merge_method)) {
    e->param = "compose.merge_method";
    return e;
  }
  if (c.merge_method != "linear" && c.merge_method != "ties" && c.merge_method != "dare" &&
      c.merge_method != "cat") {
    return BadRequest(
        "'compose.merge_method' must be \"linear\", \"ties\", \"dare\" or "
        "\"cat\", got " +
            Brief(c.merge_method),
        "compose.merge_method", "invalid_value");
  }
  if (auto r = it->find("merge_rank"); r != it->end() && !r->is_null()) {
    if (!r->is_number_integer() || r->get<int64_t>() < 0 || r->get<int64_t>() > 4096) {
      return BadRequest("'compose.merge_rank' must be an integer from 0 to 4096, got " + Brief(*r),
                        "compose.merge_rank", "out_of_range");
    }
    c.merge_rank = static_cast<int32_t>(r->get<int64_t>());
  }
  auto stages = it->find("stages");
  if (stages == it->end() || stages->is_null()) {
    return BadRequest("missing required field 'compose.stages'", "compose.stages", "missing_field");
  }
  if (!stages->is_array()) return WrongType("compose.stages", "an array of stages", *stages);
  if (stages->size() < 2 || stages->size() > kMaxComposeStagesRequest) {
    return BadRequest("'compose.stages' must hold 2 to " +
                          std::to_string(kMaxComposeStagesRequest) + " stages, got " +
                          std::to_string(stages->size()),
                      "compose.stages", "out_of_range");
  }
  for (size_t i = 0; i < stages->size(); ++i) {
    const json& st = (*stages)[i];
    const std::string f = "compose.stages[" + std::to_string(i) + "]";
    if (!st.is_object()) return WrongType(f, "an object {\"adapters\", \"template\"?}", st);
    ComposeStageParam sp;
    auto a = st.find("adapters");
    if (a == st.end() || a->is_null()) {
      return BadRequest("missing '" + f + ".adapters' (use [] for the base model)", f + ".adapters",
                        "missing_field");
    }
    if (auto e = ParseAdapterList(*a, f + ".adapters", &sp.adapters)) return e;
    if (auto e = GetString(st, "template", false, &sp.prompt_template)) {
      e->param = f + ".template";
      return e;
    }
    if (sp.prompt_template.size() > kMaxComposeTemplateBytes) {
      return BadRequest("'" + f + ".template' is longer than " +
                            std::to_string(kMaxComposeTemplateBytes) + " bytes",
                        f + ".template", "out_of_range");
    }
    c.stages.push_back(std::move(sp));
  }
  p->compose = std::move(c);
  return std::nullopt;
}

// An optional integer field of "speculative" within [lo, hi].
std::optional<ApiError> GetSpeculativeInt(const json& o, const char* field, int32_t lo, int32_t hi,
                                          std::optional<int32_t>* out) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::nullopt;
  const std::string f = std::string("speculative.") + field;
  if (!it->is_number_integer()) return WrongType(f, "an integer", *it);
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return BadRequest("'" + f + "' must be between " + std::to_string(lo) + " and " +
                          std::to_string(hi) + ", got " + Brief(*it),
                      f, "out_of_range");
  }
  *out = static_cast<int32_t>(v);
  return std::nullopt;
}

// "speculative": see SpeculativeParam. Not with "compose".
std::optional<ApiError> ParseSpeculative(const json& o, GenerationParams* p) {
  auto it = o.find("speculative");
  if (it == o.end() || it->is_null()) return std::nullopt;
  SpeculativeParam sp;
  if (it->is_boolean()) {
    sp.enabled = it->get<bool>();
  } else if (it->is_object()) {
    if (auto e = GetSpeculativeInt(*it, "draft_max", 0, kMaxRequestDraft, &sp.draft_max)) return e;
    if (auto e = GetSpeculativeInt(*it, "lookup_ngram", 0, kMaxRequestNgram, &sp.lookup_ngram)) {
      return e;
    }
    if (auto e =
            GetSpeculativeInt(*it, "lookup_ngram_min", 1, kMaxRequestNgram, &sp.lookup_ngram_min)) {
      return e;
    }
    if (auto p_min = it->find("draft_p_min"); p_min != it->end() && !p_min->is_null()) {
      const std::string f = "speculative.draft_p_min";
      if (!p_min->is_number()) return WrongType(f, "a number", *p_min);
      const double v = p_min->get<double>();
      if (!std::isfinite(v) || v < 0 || v > 1) {
        return BadRequest("'" + f + "' must be between 0 and 1, got " + Brief(*p_min), f,
                          "out_of_range");
      }
      sp.draft_p_min = static_cast<float>(v);
    }
    if (auto m = it->find("draft_model"); m != it->end() && !m->is_null()) {
      if (!m->is_boolean()) return WrongType("speculative.draft_model", "a boolean", *m);
      sp.draft_model = m->get<bool>();
    }
  } else {
    return WrongType("speculative", "a boolean or an object {\"draft_max\", \"lookup_ngram\", ...}",
                     *it);
  }
  if (p->compose && sp.enabled) {
    return BadRequest("'speculative' and 'compose' cannot be used together", "speculative",
                      "invalid_value");
  }
  p->speculative = sp;
  return std::nullopt;
}

// The common generation settings. `max_tokens_fields` lists the accepted names for the length
// (chat accepts max_completion_tokens too).
std::optional<ApiError> ParseParams(const json& o, const RequestLimits& limits,
                                    GenerationParams* p) {
  p->max_tokens = limits.default_max_tokens;
  if (auto e = GetNumber(o, "temperature", 0.0f, 2.0f, &p->temperature)) return e;
  if (auto e = GetNumber(o, "top_p", 0.0f, 1.0f, &p->top_p)) return e;
  if (auto it = o.find("top_p"); it != o.end() && it->is_number() && p->top_p <= 0.0f) {
    return BadRequest("'top_p' must be greater than 0", "top_p", "out_of_range");
  }
  if (auto e = GetNumber(o, "frequency_penalty", -2.0f, 2.0f, &p->frequency_penalty)) return e;
  if (auto e = GetNumber(o, "presence_penalty", -2.0f, 2.0f, &p->presence_penalty)) return e;
  if (auto e = GetBool(o, "stream", &p->stream)) return e;
  if (auto e = GetBool(o, "ignore_eos", &p->ignore_eos)) return e;
  if (auto e = ParseAdapters(o, p)) return e;
  if (auto e = ParseCompose(o, p)) return e;
  if (auto e = ParseSpeculative(o, p)) return e;
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    auto it = o.find(field);
    if (it == o.end() || it->is_null()) continue;
    if (!it->is_number_integer()) return WrongType(field, "an integer", *it);
    const int64_t v = it->get<int64_t>();
    if (v < 1 || v > limits.max_tokens_cap) {
      return BadRequest("'" + std::string(field) + "' must be between 1 and " +
                            std::to_string(limits.max_tokens_cap) + ", got " + Brief(*it),
                        field, "out_of_range");
    }
    p->max_tokens = static_cast<int32_t>(v);
  }
  if (auto it = o.find("seed"); it != o.end() && !it->is_null()) {
    if (!it->is_number_integer()) return WrongType("seed", "an integer", *it);
    p->seed =
        it->is_number_unsigned() ? it->get<uint64_t>() : static_cast<uint64_t>(it->get<int64_t>());
  }
  if (auto it = o.find("stop"); it != o.end() && !it->is_null()) {
    std::vector<std::string> stop;
    if (it->is_string()) {
      stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& s : *it) {
        if (!s.is_string()) return WrongType("stop", "a string or an array of strings", s);
        stop.push_back(s.get<std::string>());
      }
    } else {
      return WrongType("stop", "a string or an array of strings", *it);
    }
    if (stop.size() > limits.max_stop_strings) {
      return BadRequest("'stop' may hold at most " + std::to_string(limits.max_stop_strings) +
                            " strings, got " + std::to_string(stop.size()),
                        "stop", "out_of_range");
    }
    for (const auto& s : stop) {
      if (s.empty()) return BadRequest("'stop' strings must not be empty", "stop", "out_of_range");
      if (s.size() > limits.max_stop_bytes) {
        return BadRequest(
            "a 'stop' string is longer than " + std::to_string(limits.max_stop_bytes) + " bytes",
            "stop", "out_of_range");
      }
    }
    p->stop = std::move(stop);
  }
  if (auto it = o.find("stream_options"); it != o.end() && !it->is_null()) {
    if (!it->is_object()) return WrongType("stream_options", "an object", *it);
    if (auto e = GetBool(*it, "include_usage", &p->include_usage)) {
      e->param = "stream_options.include_usage";
      return e;
    }
  }
  if (auto it = o.find("n"); it != o.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() != 1) {
      return BadRequest("only 'n': 1 is supported, got " + Brief(*it), "n", "unsupported");
    }
  }
  for (const char* field : {"tools", "functions", "logit_bias"}) {
    auto it = o.find(field);
    if (it != o.end() && !it->is_null() && !(it->is_array() && it->empty()) &&
        !(it->is_object() && it->empty())) {
      return BadRequest("'" + std::string(field) + "' is not supported by this server", field,
                        "unsupported");
    }
  }
  if (auto it = o.find("logprobs");
      it != o.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>())) {
    return BadRequest("'logprobs' is not supported by this server", "logprobs", "unsupported");
  }
  return std::nullopt;
}

// Message content: a string, or an array of {"type":"text","text":...} parts (concatenated).
std::optional<ApiError> ParseContent(const json& v, const std::string& field, std::string* out) {
  if (v.is_string()) {
    *out = v.get<std::string>();
    return std::nullopt;
  }
  if (!v.is_array()) return WrongType(field, "a string or an array of text parts", v);
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& part = v[i];
    const std::string pf = field + "[" + std::to_string(i) + "]";
    if (!part.is_object()) return WrongType(pf, "an object", part);
    auto type = part.find("type");
    if (type == part.end() || !type->is_string() || type->get<std::string>() != "text") {
      return BadRequest("'" + pf + ".type' must be \"text\" (only text content is supported)",
                        pf + ".type", "unsupported");
    }
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) {
      return BadRequest("'" + pf + ".text' must be a string", pf + ".text", "invalid_type");
    }
    *out += text->get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

ParseResult<ChatCompletionRequest> ParseChatCompletion(std::string_view body,
                                                       const RequestLimits& limits) {
  auto parsed = ParseObject(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const json& o = std::get<json>(parsed);
  ChatCompletionRequest r;
  if (auto e = GetString(o, "model", false, &r.model)) return *e;
  auto it = o.find("messages");
  if (it == o.end() || it->is_null()) {
    return BadRequest("missing required field 'messages'", "messages", "missing_field");
  }
  if (!it->is_array()) return WrongType("messages", "an array", *it);
  if (it->empty()) return BadRequest("'messages' must not be empty", "messages", "out_of_range");
  if (it->size() > limits.max_messages) {
    return BadRequest(
        "'messages' may hold at most " + std::to_string(limits.max_messages) + " messages",
        "messages", "out_of_range");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string f = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return WrongType(f, "an object", m);
    ChatMessage msg;
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return BadRequest("'" + f + ".role' must be a string", f + ".role", "missing_field");
    }
    msg.role = role->get<std::string>();
    if (msg.role == "developer") msg.role = "system";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" &&
        msg.role != "context") {
      return BadRequest("'" + f +
                            ".role' must be \"system\", \"user\", \"assistant\" or \"context\", "
                            "got " +
                            Brief(msg.role),
                        f + ".role", "invalid_value");
    }
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      return BadRequest("missing '" + f + ".content'", f + ".content", "missing_field");
    }
    if (auto e = ParseContent(*content, f + ".content", &msg.content)) return *e;
    r.messages.push_back(std::move(msg));
  }
  if (auto e = ParseParams(o, limits, &r.params)) return *e;
  r.params.chat_reply = true;
  return r;
}

ParseResult<CompletionRequest> ParseCompletion(std::string_view body, const RequestLimits& limits) {
  auto parsed = ParseObject(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const json& o = std::get<json>(parsed);
  CompletionRequest r;
  if (auto e = GetString(o, "model", false, &r.model)) return *e;
  auto it = o.find("prompt");
  if (it == o.end() || it->is_null()) {
    return BadRequest("missing required field 'prompt'", "prompt", "missing_field");
  }
  const json* p = &*it;
  if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
    std::vector<int32_t> ids;
    for (const auto& v : *p) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
        return BadRequest("'prompt' token ids must be non-negative integers", "prompt",
                          "invalid_type");
      }
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    r.prompt = std::move(ids);
  } else if (p->is_array()) {
    return BadRequest("'prompt' must be one string (batches of prompts are not supported)",
                      "prompt", "unsupported");
  } else {
    return WrongType("prompt", "a string", *p);
  }
  bool echo = false;
  if (auto e = GetBool(o, "echo", &echo)) return *e;
  if (echo) {
    return BadRequest("'echo' is not supported by this server", "echo", "unsupported");
  }
  if (auto e = ParseParams(o, limits, &r.params)) return *e;
  return r;
}

ParseResult<CreateContextRequest> ParseCreateContext(std::string_view body) {
  CreateContextRequest r;
  if (body.empty()) return r;  // no system prompt
  auto parsed = ParseObject(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const json& o = std::get<json>(parsed);
  if (auto e = GetString(o, "system", false, &r.system)) return *e;
  if (auto e = GetString(o, "context", false, &r.context)) return *e;
  return r;
}

ParseResult<ContextMessageRequest> ParseContextMessage(std::string_view body,
                                                       const RequestLimits& limits) {
  auto parsed = ParseObject(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const json& o = std::get<json>(parsed);
  ContextMessageRequest r;
  if (auto e = GetString(o, "content", true, &r.content)) return *e;
  if (auto e = ParseParams(o, limits, &r.params)) return *e;
  r.params.chat_reply = true;
  if (r.params.compose) {
    return BadRequest(
        "'compose' is not supported on context messages (use /v1/completions or "
        "/v1/chat/completions)",
        "compose", "unsupported");
  }
  return r;
}

ParseResult<RegisterAdapterRequest> ParseRegisterAdapter(std::string_view body) {
  auto parsed = ParseObject(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const json& o = std::get<json>(parsed);
  RegisterAdapterRequest r;
  if (auto e = GetString(o, "name", true, &r.name)) return *e;
  if (auto e = GetString(o, "path", true, &r.path)) return *e;
  if (r.name.empty() || r.name.size() > 64 ||
      r.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    return BadRequest("'name' must be 1 to 64 characters of [A-Za-z0-9_.-], got " + Brief(r.name),
                      "name", "invalid_value");
  }
  if (r.path.empty()) return BadRequest("'path' must not be empty", "path", "invalid_value");
  if (auto e = GetNumber(o, "scale", -kMaxAdapterScale, kMaxAdapterScale, &r.scale)) return *e;
  return r;
}

ParseResult<RegisterAdapterRequest> ParseReplaceAdapter(std::string_view body,
                                                        const std::string& name) {
  auto parsed = ParseObject(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const json& o = std::get<json>(parsed);
  RegisterAdapterRequest r;
  if (auto e = GetString(o, "name", false, &r.name)) return *e;
  if (!r.name.empty() && r.name != name) {
    return BadRequest("'name' is " + Brief(r.name) + " but the path names adapter \"" + name +
                          "\"; leave 'name' out of a PUT body",
                      "name", "invalid_value");
  }
  r.name = name;
  if (auto e = GetString(o, "path", true, &r.path)) return *e;
  if (r.path.empty()) return BadRequest("'path' must not be empty", "path", "invalid_value");
  if (auto e = GetNumber(o, "scale", -kMaxAdapterScale, kMaxAdapterScale, &r.scale)) return *e;
  return r;
}

}  // namespace odlm::server
