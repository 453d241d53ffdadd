// server/http_util.h — helpers shared by the route files (internal to the server library).
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "server/api_error.h"
#include "server/service.h"

namespace odlm::server {

// Writes an OpenAI error object with its status (and Retry-After for 429).
void SendError(httplib::Response& res, const ApiError& error);
// The error for a failed Start* call (queue full → 429 queue_full; see FromStatus otherwise).
ApiError StartError(const Status& status, const std::string& param);
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);

// The bearer key of a request ("" if none).
std::string BearerKey(const httplib::Request& req);

// The app making the request, authenticated again now that the body has arrived: the
// pre-routing check ran before it, and a key revoked meanwhile (the keys file changed while the
// body was arriving) is no longer valid. Null after answering 401 into `res`.
const AppRecord* RequireApp(Service& service, const httplib::Request& req, httplib::Response& res);

// JSON dump that never throws on invalid UTF-8 in model output (replaces bad bytes).
std::string Dump(const nlohmann::json& j);

// "stop" / "length" as OpenAI reports them.
const char* OpenAiFinishReason(FinishReason r);

// A usage object: prompt, completion and total tokens plus the reused prompt tokens.
nlohmann::json Usage(const GenerateResult& r);

// Shared by streaming routes: pumps a job's text into SSE events. `on_text(piece)` returns the
// event payload for a text piece; `on_end(result)` returns the final events (already framed),
// called once after the generation finished successfully; errors become an error event. The
// stream ends with data: [DONE]. Stops (and cancels the job) when the client goes away.
void StreamJob(httplib::Response& res, std::shared_ptr<Job> job,
               std::function<std::string(const std::string& piece)> on_text,
               std::function<std::string(Job& job)> on_end);

// Waits for a non-streaming request's end. Cancels its generation if the client closes the
// connection meanwhile (checked every 50 ms; see CurrentClientGone in listener.h).
void WaitUnlessClientGone(GenRequest& request);

void RegisterOpenAiRoutes(httplib::Server& http, Service& service);
void RegisterContextRoutes(httplib::Server& http, Service& service);
void RegisterAdapterRoutes(httplib::Server& http, Service& service);

}  // namespace odlm::server
