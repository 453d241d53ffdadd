// server/context_routes.cc — persistent contexts: POST /v1/contexts, GET /v1/contexts (the
// calling app's), POST /v1/contexts/{id}/messages, GET /v1/contexts/{id}, DELETE
// /v1/contexts/{id}.
#include "server/http_util.h"
#include "server/sse.h"

namespace odlm::server {
namespace {

using nlohmann::json;

constexpr const char* kIdPattern = "([A-Za-z0-9_-]{1,64})";

json ContextUsage(const GenerateResult& g) {
  json u = Usage(g);
  u["reused_tokens"] = g.reused_tokens;
  u["new_prompt_tokens"] = g.prompt_tokens - g.reused_tokens;
  return u;
}

void CreateContext(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  auto parsed = ParseCreateContext(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const CreateContextRequest& r = std::get<CreateContextRequest>(parsed);
  auto id = service.CreateContext(*app, r.system, r.context);
  if (!id.ok()) return SendError(res, FromStatus(id.status()));
  SendJson(res, 201, {{"id", *id}, {"object", "context"}});
}

void PostMessage(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  const std::string id = req.matches[1];
  auto parsed = ParseContextMessage(req.body, service.options().limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const ContextMessageRequest& r = std::get<ContextMessageRequest>(parsed);
  if (auto a = service.ResolveAdapters(r.params); !a.ok()) {
    return SendError(res, FromStatus(a.status(), "adapters"));
  }
  auto started = service.StartContextTurn(*app, id, r);
  if (!started.ok()) {
    return SendError(res, StartError(started.status(), "content"));
  }
  std::shared_ptr<Job> job(std::move(started).value());
  if (!r.params.stream) {
    WaitUnlessClientGone(job->request());
    const auto& g = job->request().result();
    if (!g.ok()) return SendError(res, FromStatus(g.status()));
    if (g->finish == FinishReason::kCancelled) {
      return SendError(res, Unavailable("the generation was cancelled (shutting down)"));
    }
    Status st = job->Commit();
    job->Release();
    if (!st.ok()) return SendError(res, FromStatus(st));
    SendJson(res, 200,
             {{"id", id},
              {"reply", g->text},
              {"finish_reason", OpenAiFinishReason(g->finish)},
              {"usage", ContextUsage(*g)}});
    return;
  }
  res.status = 200;
  StreamJob(
      res, job,
      [](const std::string& piece) {
        return Dump({{"delta", piece}});
      },
      [id](Job& j) {
        const GenerateResult& g = *j.request().result();
        Status st = j.Commit();
        if (!st.ok()) return SseEvent(FromStatus(st).ToJson());
        return SseEvent(Dump({{"id", id},
                              {"reply", g.text},
                              {"finish_reason", OpenAiFinishReason(g.finish)},
                              {"usage", ContextUsage(g)}}));
      });
}

void ListContexts(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  json data = json::array();
  for (const ContextSummary& c : service.ListContexts(*app)) {
    data.push_back({{"id", c.id},
                    {"object", "context"},
                    {"created_ms", c.created_ms},
                    {"updated_ms", c.updated_ms},
                    {"n_messages", c.n_messages},
                    {"cached_tokens", c.cached_tokens},
                    {"busy", c.busy}});
  }
  SendJson(res, 200, {{"object", "list"}, {"data", data}});
}

void GetContext(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  auto info = service.GetContext(*app, req.matches[1]);
  if (!info.ok()) return SendError(res, FromStatus(info.status()));
  json messages = json::array();
  for (const auto& m : info->stored.messages) {
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  SendJson(res, 200,
           {{"id", info->stored.id},
            {"object", "context"},
            {"system", info->stored.system},
            {"created_ms", info->stored.created_ms},
            {"updated_ms", info->stored.updated_ms},
            {"messages", messages},
            {"n_messages", info->stored.messages.size()},
            {"cached_tokens", info->cached_tokens},
            {"busy", info->busy}});
}

void DeleteContext(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = RequireApp(service, req, res);
  if (app == nullptr) return;
  const std::string id = req.matches[1];
  Status st = service.DeleteContext(*app, id);
  if (!st.ok()) return SendError(res, FromStatus(st));
  SendJson(res, 200, {{"id", id}, {"object", "context"}, {"deleted", true}});
}

}  // namespace

void RegisterContextRoutes(httplib::Server& http, Service& service) {
  http.Post("/v1/contexts", [&service](const httplib::Request& req, httplib::Response& res) {
    CreateContext(service, req, res);
  });
  http.Get("/v1/contexts", [&service](const httplib::Request& req, httplib::Response& res) {
    ListContexts(service, req, res);
  });
  const std::string one = std::string("/v1/contexts/") + kIdPattern;
  http.Post(one + "/messages", [&service](const httplib::Request& req, httplib::Response& res) {
    PostMessage(service, req, res);
  });
  http.Get(one, [&service](const httplib::Request& req, httplib::Response& res) {
    GetContext(service, req, res);
  });
  http.Delete(one, [&service](const httplib::Request& req, httplib::Response& res) {
    DeleteContext(service, req, res);
  });
}

}  // namespace odlm::server
