// server/api_error.cc — OpenAI-style error objects.
#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace odlm::server {

std::string ApiError::ToJson() const {
  nlohmann::json e = {{"message", message}, {"type", type}, {"code", code}};
  e["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  return nlohmann::json{{"error", e}}.dump(-1, ' ', false,
                                           nlohmann::json::error_handler_t::replace);
}

ApiError BadRequest(std::string message, std::string param, std::string code) {
  return {400, "invalid_request_error", std::move(code), std::move(message), std::move(param)};
}
ApiError Unauthorized(std::string message) {
  return {401, "authentication_error", "invalid_api_key", std::move(message), ""};
}
ApiError NotFound(std::string message, std::string code) {
  return {404, "invalid_request_error", std::move(code), std::move(message), ""};
}
ApiError MethodNotAllowed(std::string message) {
  return {405, "invalid_request_error", "method_not_allowed", std::move(message), ""};
}
ApiError Conflict(std::string message) {
  return {409, "invalid_request_error", "conflict", std::move(message), ""};
}
ApiError PayloadTooLarge(std::string message) {
  return {413, "invalid_request_error", "request_too_large", std::move(message), ""};
}
ApiError TooManyRequests(std::string message, std::string code) {
  return {429, "rate_limit_error", std::move(code), std::move(message), ""};
}
ApiError Unavailable(std::string message) {
  return {503, "server_error", "unavailable", std::move(message), ""};
}
ApiError Internal(std::string message) {
  return {500, "server_error", "internal_error", std::move(message), ""};
}

ApiError FromStatus(const Status& status, std::string param) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return BadRequest(status.message(), std::move(param));
    case StatusCode::kOutOfRange:
      return BadRequest(status.message(), std::move(param), "context_length_exceeded");
    case StatusCode::kNotFound:
      return NotFound(status.message());
    case StatusCode::kResourceExhausted:
      return TooManyRequests(status.message(), "limit_exceeded");
    case StatusCode::kFailedPrecondition:
      return Conflict(status.message());
    case StatusCode::kUnavailable:
      return Unavailable(status.message());
    default:
      return Internal(status.message().empty() ? std::string(StatusCodeName(status.code()))
                                               : status.message());
  }
}

ApiError ForHttpStatus(int http_status, std::string_view method, std::string_view path) {
  const std::string where = std::string(method) + " " + std::string(path);
  switch (http_status) {
    case 400:
      return BadRequest("malformed HTTP request: " + where);
    case 404:
      return NotFound("no such route: " + where +
                          " (routes: /v1/chat/completions, /v1/completions, /v1/models, "
                          "/v1/contexts, /health, /metrics)",
                      "unknown_route");
    case 405:
      return MethodNotAllowed("method not allowed: " + where);
    case 413:
      return PayloadTooLarge("request body too large: " + where);
    case 414:
      return BadRequest("request URI too long", "", "uri_too_long");
    default:
      break;
  }
  ApiError e = Internal("HTTP status " + std::to_string(http_status) + " for " + where);
  e.http_status = http_status;
  if (http_status >= 400 && http_status < 500) e.type = "invalid_request_error";
  return e;
}

}  // namespace odlm::server
