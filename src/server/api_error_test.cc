#include "server/api_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace odlm::server {
namespace {

TEST(ApiErrorTest, BodyHasOpenAiShape) {
  const ApiError e = BadRequest("'temperature' must be between 0 and 2", "temperature");
  EXPECT_EQ(e.http_status, 400);
  const auto j = nlohmann::json::parse(e.ToJson());
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["message"], "'temperature' must be between 0 and 2");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "temperature");
  EXPECT_EQ(j["error"]["code"], "invalid_request");
}

TEST(ApiErrorTest, EmptyParamIsNull) {
  const auto j = nlohmann::json::parse(Unauthorized("no key").ToJson());
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["type"], "authentication_error");
}

TEST(ApiErrorTest, InvalidUtf8InMessageStillGivesJson) {
  const ApiError e = BadRequest(std::string("bad \xff\xfe bytes"));
  const auto j = nlohmann::json::parse(e.ToJson(), nullptr, false);
  EXPECT_FALSE(j.is_discarded());
}

TEST(ApiErrorTest, StatusMapping) {
  EXPECT_EQ(FromStatus(InvalidArgumentError("x")).http_status, 400);
  EXPECT_EQ(FromStatus(OutOfRangeError("x")).http_status, 400);
  EXPECT_EQ(FromStatus(OutOfRangeError("x")).code, "context_length_exceeded");
  EXPECT_EQ(FromStatus(NotFoundError("x")).http_status, 404);
  EXPECT_EQ(FromStatus(ResourceExhaustedError("x")).http_status, 429);
  EXPECT_EQ(FromStatus(FailedPreconditionError("x")).http_status, 409);
  EXPECT_EQ(FromStatus(UnavailableError("x")).http_status, 503);
  EXPECT_EQ(FromStatus(InternalError("x")).http_status, 500);
  EXPECT_EQ(FromStatus(DataLossError("x")).http_status, 500);
}

TEST(ApiErrorTest, HttpStatusFallbacks) {
  EXPECT_EQ(ForHttpStatus(404, "GET", "/nope").http_status, 404);
  EXPECT_NE(ForHttpStatus(404, "GET", "/nope").message.find("/nope"), std::string::npos);
  EXPECT_EQ(ForHttpStatus(413, "POST", "/v1/completions").code, "request_too_large");
  EXPECT_EQ(ForHttpStatus(418, "GET", "/").http_status, 418);
  EXPECT_EQ(ForHttpStatus(418, "GET", "/").type, "invalid_request_error");
}

}  // namespace
}  // namespace odlm::server
