// server/http_server.cc — server set-up, authentication, error bodies, health/metrics/models.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "base/logging.h"
#include "server/http_util.h"
#include "server/listener.h"
#include "server/sse.h"

namespace odlm::server {

// --- helpers (http_util.h) -----------------------------------------------------------------------

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void SendError(httplib::Response& res, const ApiError& error) {
  res.status = error.http_status;
  if (error.http_status == 429) res.set_header("Retry-After", "1");
  res.set_content(error.ToJson(), "application/json");
}

ApiError StartError(const Status& status, const std::string& param) {
  if (IsQueueFull(status)) return TooManyRequests(status.message(), "queue_full");
  if (IsAppQueueFull(status)) return TooManyRequests(status.message(), "app_queue_full");
  return FromStatus(status, status.code() == StatusCode::kOutOfRange ? param : std::string());
}

std::string BearerKey(const httplib::Request& req) {
  const std::string h = req.get_header_value("Authorization");
  static const std::string kPrefix = "Bearer ";
  if (h.size() <= kPrefix.size() || h.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  size_t start = kPrefix.size();
  while (start < h.size() && h[start] == ' ') ++start;
  size_t end = h.size();
  while (end > start && (h[end - 1] == ' ' || h[end - 1] == '\r')) --end;
  return h.substr(start, end - start);
}

const AppRecord* RequireApp(Service& service, const httplib::Request& req, httplib::Response& res) {
  const AppRecord* app = service.Authenticate(BearerKey(req));
  if (app == nullptr) SendError(res, Unauthorized("invalid API key (revoked)"));
  return app;
}

const char* OpenAiFinishReason(FinishReason r) {
  return r == FinishReason::kLength || r == FinishReason::kContextFull ? "length" : "stop";
}

nlohmann::json Usage(const GenerateResult& r) {
  const int64_t completion = static_cast<int64_t>(r.tokens.size());
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", r.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", r.reused_tokens}}}};
}

void StreamJob(httplib::Response& res, std::shared_ptr<Job> job,
               std::function<std::string(const std::string& piece)> on_text,
               std::function<std::string(Job& job)> on_end) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [job, on_text, on_end](size_t, httplib::DataSink& sink) -> bool {
        std::string text;
        const bool done = job->request().WaitNext(&text, std::chrono::milliseconds(100));
        std::string out;
        if (!text.empty()) out += SseEvent(on_text(text));
        if (done) {
          const auto& r = job->request().result();
          if (r.ok() && r->finish != FinishReason::kCancelled) {
            out += on_end(*job);
          } else {
            const ApiError e =
                r.ok() ? Unavailable("the generation was cancelled") : FromStatus(r.status());
            out += SseEvent(e.ToJson());
          }
          out += kSseDone;
          // The context (and the app's slot) is free again before the client can see the end: a
          // client that posts its next message as soon as it reads [DONE] never gets 409.
          job->Release();
        }
        if (!out.empty()) {
          if (!sink.write(out.data(), out.size())) {
            job->request().Cancel();
            return false;
          }
        } else if (!sink.is_writable()) {
          job->request().Cancel();
          return false;
        }
        if (done) sink.done();
        return true;
      });
}

void WaitUnlessClientGone(GenRequest& request) {
  std::string text;  // also in the result; dropped here
  while (!request.WaitNext(&text, std::chrono::milliseconds(50))) {
    text.clear();
    if (!request.cancelled() && CurrentClientGone()) request.Cancel();
  }
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  return false;
}

namespace {

// The route pattern of a path, for metric labels (ids collapsed so labels stay bounded).
std::string RouteLabel(const std::string& path) {
  static const char* kFixed[] = {"/v1/chat/completions", "/v1/completions", "/v1/models",
                                 "/v1/contexts",         "/health",         "/metrics",
                                 "/v1/adapters"};
  for (const char* f : kFixed) {
    if (path == f) return f;
  }
  if (path.rfind("/v1/contexts/", 0) == 0) {
    return path.size() > 9 && path.compare(path.size() - 9, 9, "/messages") == 0
               ? "/v1/contexts/{id}/messages"
               : "/v1/contexts/{id}";
  }
  if (path.rfind("/v1/adapters/", 0) == 0) return "/v1/adapters/{name}";
  return "other";
}

}  // namespace

// --- HttpServer ----------------------------------------------------------------------------------

HttpServer::HttpServer(Service* service, const HttpOptions& options)
    : service_(service), options_(options), http_(std::make_unique<RoutingServer>()) {
  // A request waiting for its app's slot gives up when its client has gone.
  service_->set_caller_gone(&CurrentClientGone);
  Routes();
}

HttpServer::~HttpServer() {
  Stop();
  listeners_.clear();  // before the routes they hand connections to
}

void HttpServer::Routes() {
  httplib::Server& h = *http_;
  // Connections, threads and timeouts are the Listeners' (listener.h); this bounds a chunked
  // body, which the connection loop cannot size in advance.
  h.set_payload_max_length(options_.max_body_bytes);

  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (draining_.load()) {
      service_->metrics().CountRejected(RejectReason::kShuttingDown);
      SendError(res, Unavailable("the service is shutting down"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (service_->auth_required()) {
      const std::string key = BearerKey(req);
      if (key.empty()) {
        SendError(res, Unauthorized("missing API key: send 'Authorization: Bearer <key>' (keys "
                                    "are created with odlm serve --keys FILE --add-app NAME)"));
        return httplib::Server::HandlerResponse::Handled;
      }
      if (service_->Authenticate(key) == nullptr) {
        SendError(res, Unauthorized("invalid API key"));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  h.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (CurrentRequestTimedOut()) {  // a chunked or 100-continue body that came too slowly
          service_->metrics().CountRejected(RejectReason::kBodyTimeout);
          SendError(res, {408, "invalid_request_error", "request_timeout",
                          "the request body did not arrive in time", ""});
          return httplib::Server::HandlerResponse::Handled;
        }
        if (res.status == 413) service_->metrics().CountRejected(RejectReason::kBodyTooLarge);
        SendError(res, ForHttpStatus(res.status, req.method, req.path));
        return httplib::Server::HandlerResponse::Handled;
      }));

  h.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LOG(ERROR) << req.method << " " << req.path << ": " << what;
        SendError(res, Internal("internal error while handling the request: " + what));
      });

  h.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    service_->metrics().CountRequest(RouteLabel(req.path), res.status);
  });

  h.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200,
             {{"status", draining_.load() ? "draining" : "ok"},
              {"model", service_->options().model_id},
              {"queue_depth", service_->scheduler().queue_depth()},
              {"active_requests", service_->scheduler().active()}});
  });

  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_->RenderMetrics(), "text/plain; version=0.0.4");
  });

  h.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json model = {{"id", service_->options().model_id},
                                  {"object", "model"},
                                  {"created", service_->created_unix()},
                                  {"owned_by", "odlm"},
                                  {"context_length", service_->engine().n_ctx()}};
    SendJson(res, 200, {{"object", "list"}, {"data", nlohmann::json::array({model})}});
  });
  h.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != service_->options().model_id) {
      SendError(res, NotFound("no model '" + std::string(req.matches[1]) + "'; this server has '" +
                                  service_->options().model_id + "'",
                              "model_not_found"));
      return;
    }
    SendJson(res, 200,
             {{"id", service_->options().model_id},
              {"object", "model"},
              {"created", service_->created_unix()},
              {"owned_by", "odlm"}});
  });

  RegisterOpenAiRoutes(h, *service_);
  RegisterContextRoutes(h, *service_);
  RegisterAdapterRoutes(h, *service_);
}

Status HttpServer::Bind() {
  ListenerOptions lo;
  lo.handler_threads = options_.handler_threads;
  lo.limits = options_.connections;
  lo.limits.max_body_bytes = options_.max_body_bytes;
  lo.on_reject = [this](RejectReason r) { service_->metrics().CountRejected(r); };
  if (options_.listen_tcp) {
    ASSIGN_OR_RETURN(std::unique_ptr<Listener> tcp,
                     Listener::Tcp(http_.get(), options_.host, options_.port, lo));
    port_ = tcp->port();
    listeners_.push_back(std::move(tcp));
  }
  if (!options_.socket_path.empty()) {
    std::vector<uid_t> uids = options_.allow_uids;
    if (uids.empty()) uids.push_back(::getuid());
    ASSIGN_OR_RETURN(std::unique_ptr<Listener> unix_socket,
                     Listener::Unix(http_.get(), options_.socket_path, std::move(uids), lo));
    listeners_.push_back(std::move(unix_socket));
  }
  if (listeners_.empty())
    return InvalidArgumentError("nothing to listen on: no TCP port, no socket");
  http_->Open();
  return Status::Ok();
}

void HttpServer::Run() {
  std::vector<std::thread> others;
  for (size_t i = 1; i < listeners_.size(); ++i) {
    others.emplace_back([l = listeners_[i].get()] { l->Run(); });
  }
  if (!listeners_.empty()) listeners_[0]->Run();
  for (std::thread& t : others) t.join();
}

bool HttpServer::is_running() const {
  if (listeners_.empty()) return false;
  for (const auto& l : listeners_) {
    if (!l->is_running()) return false;
  }
  return true;
}

int64_t HttpServer::refused_connections() const {
  int64_t n = 0;
  for (const auto& l : listeners_) n += l->refused();
  return n;
}

void HttpServer::Stop() {
  for (const auto& l : listeners_) l->Stop();
  http_->Close();
}

}  // namespace odlm::server
