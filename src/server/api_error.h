// server/api_error.h — OpenAI-style error objects and the HTTP status each kind of error maps to.
//
// Every error the service returns has the body
//   {"error": {"message": "...", "type": "...", "param": null | "field", "code": "..."}}
// so that OpenAI client libraries raise their typed exceptions (BadRequestError, NotFoundError …).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace odlm::server {

struct ApiError {
  int http_status = 500;
  std::string type;     // "invalid_request_error", "authentication_error", …
  std::string code;     // machine-readable: "invalid_json", "not_found", "queue_full", …
  std::string message;  // what went wrong, where, and what was expected
  std::string param;    // the request field at fault, or empty

  // The JSON body {"error": {...}}.
  std::string ToJson() const;
};

// 400: malformed or out-of-range request.
ApiError BadRequest(std::string message, std::string param = "",
                    std::string code = "invalid_request");
// 401: missing or wrong API key.
ApiError Unauthorized(std::string message);
// 404: unknown route, context or model (also for another app's context: nothing is revealed).
ApiError NotFound(std::string message, std::string code = "not_found");
// 405, 409, 413, 429, 503 …
ApiError MethodNotAllowed(std::string message);
ApiError Conflict(std::string message);
ApiError PayloadTooLarge(std::string message);
ApiError TooManyRequests(std::string message, std::string code = "queue_full");
ApiError Unavailable(std::string message);
ApiError Internal(std::string message);

// Maps a Status from the layers below: InvalidArgument/OutOfRange → 400, NotFound → 404,
// ResourceExhausted → 429, FailedPrecondition → 409, Unavailable → 503, everything else → 500.
// `param` names the request field when known.
ApiError FromStatus(const Status& status, std::string param = "");

// The error object for an HTTP status without a handler-provided body (unknown route, oversized
// body rejected by the HTTP layer …).
ApiError ForHttpStatus(int http_status, std::string_view method, std::string_view path);

}  // namespace odlm::server
