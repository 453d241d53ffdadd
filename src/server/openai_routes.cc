// server/openai_routes.cc — POST /v1/chat/completions and POST /v1/completions.
#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <random>

#include "base/logging.h"
#include "server/http_util.h"
#include "server/sse.h"

namespace odlm::server {
namespace {

using nlohmann::json;

std::string NewId(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  unsigned char r[6] = {};
  if (RAND_bytes(r, sizeof(r)) != 1) {
    // Ids stay unique without it (the counter); they are only less hard to guess.
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      LOG(WARNING) << "RAND_bytes failed: response ids use a counter only";
    static std::random_device device;
    for (unsigned char& b : r) b = static_cast<unsigned char>(device());
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%02x%02x%02x%02x%02x%02x%llx", prefix, r[0], r[1], r[2], r[3],
                r[4], r[5], static_cast<unsigned long long>(counter.fetch_add(1)));
  return buf;
}

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Starts a job or answers the error; returns null when answered.
std::shared_ptr<Job> StartOrAnswer(StatusOr<std::unique_ptr<Job>> job, httplib::Response& res,
                                   const char* param) {
  if (!job.ok()) {
    SendError(res, StartError(job.status(), param));
    return nullptr;
  }
  return std::shared_ptr<Job>(std::move(job).value());
}

// Waits for a non-streaming job; answers an error and returns null if it failed.
const GenerateResult* WaitResult(Job& job, httplib::Response& res) {
  WaitUnlessClientGone(job.request());
  const auto& r = job.request().result();
  if (!r.ok()) {
    SendError(res, FromStatus(r.status()));
    return nullptr;
  }
  if (r->finish == FinishReason::kCancelled) {
    SendError(res, Unavailable("the generation was cancelled (the service is shutting down)"));
    return nullptr;
  }
  return &*r;
}

// The "compose" extension of a response: each pass's adapters, tokens and timings.
json ComposeJson(const ComposeResult& r) {
  json stages = json::array();
  for (const ComposeStageResult& s : r.stages) {
    json adapters = json::array();
    for (const AdapterChoice& c : s.adapters) {
      adapters.push_back({{"name", c.name}, {"scale", c.scale}});
    }
    stages.push_back({{"adapters", adapters},
                      {"text", s.result.text},
                      {"prompt_tokens", s.result.prompt_tokens},
                      {"completion_tokens", s.result.tokens.size()},
                      {"prefill_ms", s.result.prefill_ms},
                      {"decode_ms", s.result.decode_ms},
                      {"finish_reason", OpenAiFinishReason(s.result.finish)}});
  }
  return {{"mode", std::string(ComposeModeName(r.mode))},
          {"merge_ms", r.merge_ms},
          {"total_ms", r.total_ms},
          {"stages", stages}};
}

// The error of a failed composite: 429 when the queue is full, else by status code, naming
// "compose" (unknown adapters, bad templates, a token-id prompt).
ApiError ComposeError(const Status& status) {
  return IsQueueFull(status) || IsAppQueueFull(status) ? StartError(status, "compose")
                                                       : FromStatus(status, "compose");
}

// A composite's last pass runs as an ordinary job: what the handlers need to answer for it.
using Composite = std::shared_ptr<Service::ComposeRun>;

// Usage summed over the passes of a composite.
json ComposeUsage(const ComposeResult& r) {
  int64_t cached = 0;
  for (const ComposeStageResult& s : r.stages) cached += s.result.reused_tokens;
  return {{"prompt_tokens", r.prompt_tokens()},
          {"completion_tokens", r.completion_tokens()},
          {"total_tokens", r.prompt_tokens() + r.completion_tokens()},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

void ChatCompletions(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  auto parsed = ParseChatCompletion(req.body, service.options().limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const ChatCompletionRequest& r = std::get<ChatCompletionRequest>(parsed);
  if (auto a = service.ResolveAdapters(r.params); !a.ok()) {
    return SendError(res, FromStatus(a.status(), "adapters"));
  }
  const std::string id = NewId("chatcmpl-");
  const int64_t created = NowUnix();
  const std::string model = service.options().model_id;
  // The whole answer of a request that did not stream.
  auto completion = [&](const std::string& text, FinishReason finish, json usage) {
    return json{{"id", id},
                {"object", "chat.completion"},
                {"created", created},
                {"model", model},
                {"system_fingerprint", "odlm"},
                {"choices", json::array({{{"index", 0},
                                          {"message", {{"role", "assistant"}, {"content", text}}},
                                          {"logprobs", nullptr},
                                          {"finish_reason", OpenAiFinishReason(finish)}}})},
                {"usage", std::move(usage)}};
  };
  std::shared_ptr<Job> job;
  Composite composite;
  if (r.params.compose) {
    auto run = service.StartComposeChat(*app, r);
    if (!run.ok()) return SendError(res, ComposeError(run.status()));
    composite = std::make_shared<Service::ComposeRun>(std::move(run).value());
    job = composite->last;
  } else {
    job = StartOrAnswer(service.StartChat(*app, r), res, "messages");
    if (!job) return;
  }
  if (composite && !r.params.stream) {
    auto c = Service::FinishCompose(std::move(*composite));
    if (!c.ok()) return SendError(res, ComposeError(c.status()));
    json out = completion(c->text, c->finish(), ComposeUsage(*c));
    out["compose"] = ComposeJson(*c);
    SendJson(res, 200, out);
    return;
  }
  if (!r.params.stream) {
    const GenerateResult* g = WaitResult(*job, res);
    if (!g) return;
    SendJson(res, 200, completion(g->text, g->finish, Usage(*g)));
    return;
  }
  auto chunk = [id, created, model](json delta, json finish) {
    return json{{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"system_fingerprint", "odlm"},
                {"choices", json::array({{{"index", 0},
                                          {"delta", std::move(delta)},
                                          {"logprobs", nullptr},
                                          {"finish_reason", std::move(finish)}}})}};
  };
  const bool include_usage = r.params.include_usage;
  // The first event opens the assistant message (as OpenAI does), before any text.
  res.status = 200;
  auto first = std::make_shared<bool>(true);
  StreamJob(
      res, job,
      [chunk, first](const std::string& piece) {
        json delta = {{"content", piece}};
        if (*first) {
          delta["role"] = "assistant";
          *first = false;
        }
        return Dump(chunk(delta, nullptr));
      },
      [chunk, first, include_usage, id, created, model, composite](Job& j) {
        const GenerateResult& g = *j.request().result();
        std::string out;
        json delta = json::object();
        if (*first) delta = {{"role", "assistant"}, {"content", ""}};
        json last = chunk(delta, OpenAiFinishReason(g.finish));
        std::optional<ComposeResult> c;
        if (composite) c = Service::ComposeResultOf(*composite);
        if (c) last["compose"] = ComposeJson(*c);
        out += SseEvent(Dump(last));
        if (include_usage) {
          out += SseEvent(Dump({{"id", id},
                                {"object", "chat.completion.chunk"},
                                {"created", created},
                                {"model", model},
                                {"choices", json::array()},
                                {"usage", c ? ComposeUsage(*c) : Usage(g)}}));
        }
        return out;
      });
}

void Completions(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  auto parsed = ParseCompletion(req.body, service.options().limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const CompletionRequest& r = std::get<CompletionRequest>(parsed);
  if (auto a = service.ResolveAdapters(r.params); !a.ok()) {
    return SendError(res, FromStatus(a.status(), "adapters"));
  }
  const std::string id = NewId("cmpl-");
  const int64_t created = NowUnix();
  const std::string model = service.options().model_id;
  auto body = [id, created, model](const std::string& text, json finish) {
    return json{{"id", id},
                {"object", "text_completion"},
                {"created", created},
                {"model", model},
                {"choices", json::array({{{"index", 0},
                                          {"text", text},
                                          {"logprobs", nullptr},
                                          {"finish_reason", std::move(finish)}}})}};
  };
  std::shared_ptr<Job> job;
  Composite composite;
  if (r.params.compose) {
    auto run = service.StartComposeCompletion(*app, r);
    if (!run.ok()) return SendError(res, ComposeError(run.status()));
    composite = std::make_shared<Service::ComposeRun>(std::move(run).value());
    job = composite->last;
  } else {
    job = StartOrAnswer(service.StartCompletion(*app, r), res, "prompt");
    if (!job) return;
  }
  if (composite && !r.params.stream) {
    auto c = Service::FinishCompose(std::move(*composite));
    if (!c.ok()) return SendError(res, ComposeError(c.status()));
    json out = body(c->text, OpenAiFinishReason(c->finish()));
    out["usage"] = ComposeUsage(*c);
    out["compose"] = ComposeJson(*c);
    SendJson(res, 200, out);
    return;
  }
  if (!r.params.stream) {
    const GenerateResult* g = WaitResult(*job, res);
    if (!g) return;
    json out = body(g->text, OpenAiFinishReason(g->finish));
    out["usage"] = Usage(*g);
    SendJson(res, 200, out);
    return;
  }
  const bool include_usage = r.params.include_usage;
  res.status = 200;
  StreamJob(
      res, job, [body](const std::string& piece) { return Dump(body(piece, nullptr)); },
      [body, include_usage, composite](Job& j) {
        const GenerateResult& g = *j.request().result();
        json last = body("", OpenAiFinishReason(g.finish));
        std::optional<ComposeResult> c;
        if (composite) c = Service::ComposeResultOf(*composite);
        if (c) last["compose"] = ComposeJson(*c);
        if (include_usage) last["usage"] = c ? ComposeUsage(*c) : Usage(g);
        return SseEvent(Dump(last));
      });
}

}  // namespace

void RegisterOpenAiRoutes(httplib::Server& http, Service& service) {
  http.Post("/v1/chat/completions",
            [&service](const httplib::Request& req, httplib::Response& res) {
              ChatCompletions(service, req, res);
            });
  http.Post("/v1/completions", [&service](const httplib::Request& req, httplib::Response& res) {
    Completions(service, req, res);
  });
}

}  // namespace odlm::server
