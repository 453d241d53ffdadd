#include "server/sse.h"

#include <gtest/gtest.h>

namespace odlm::server {
namespace {

TEST(SseTest, Framing) {
  EXPECT_EQ(SseEvent(R"({"a":1})"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(SseEvent("a\nb"), "data: a\ndata: b\n\n");
  EXPECT_EQ(SseEvent(""), "data: \n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
}

TEST(SseTest, RoundTripInEverySplit) {
  const std::vector<std::string> events = {"{\"x\":\"y\"}", "two\nlines", "", "[DONE]"};
  std::string wire = SseComment("keep-alive");
  for (const auto& e : events) wire += SseEvent(e);
  for (size_t split = 0; split <= wire.size(); ++split) {
    SseParser p;
    auto got = p.Feed(wire.substr(0, split));
    auto rest = p.Feed(wire.substr(split));
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got, events) << "split at " << split;
  }
}

TEST(SseTest, ByteByByteWithCrLf) {
  const std::string wire = "data: a\r\n\r\nevent: x\r\ndata:b\r\n\r\n";
  SseParser p;
  std::vector<std::string> got;
  for (char c : wire) {
    auto e = p.Feed(std::string(1, c));
    got.insert(got.end(), e.begin(), e.end());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace odlm::server
