#include "server/request_head.h"

#include <gtest/gtest.h>

#include <string>

namespace odlm::server {
namespace {

using State = RequestHead::State;
constexpr size_t kMax = 1024;

TEST(RequestHeadTest, FindsTheEndOfTheHeadAndTheBodyLength) {
  const std::string head =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-length:  12 \r\n\r\n";
  const RequestHead h = ScanRequestHead(head + "{\"a\":", kMax);
  EXPECT_EQ(h.state, State::kComplete);
  EXPECT_EQ(h.head_bytes, head.size());
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.chunked);
  EXPECT_FALSE(h.expect_continue);
  // Every prefix of the head is incomplete.
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(ScanRequestHead(head.substr(0, n), kMax).state, State::kIncomplete) << n;
  }
}

TEST(RequestHeadTest, ResumedScanAgreesWithAWholeScan) {
  const std::string head =
      "POST /x HTTP/1.1\r\nA: b\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\nbody...";
  RequestHead more;
  for (size_t n = 0; n <= head.size(); ++n) {
    ScanRequestHeadMore(std::string_view(head).substr(0, n), kMax, &more);
  }
  const RequestHead whole = ScanRequestHead(head, kMax);
  EXPECT_EQ(more.state, State::kComplete);
  EXPECT_EQ(more.head_bytes, whole.head_bytes);
  EXPECT_EQ(more.content_length, 7u);
  EXPECT_TRUE(more.expect_continue);
}

TEST(RequestHeadTest, NoLengthMeansNoBodyAndFirstLengthCounts) {
  const RequestHead get = ScanRequestHead("GET /health HTTP/1.1\r\n\r\n", kMax);
  EXPECT_EQ(get.state, State::kComplete);
  EXPECT_EQ(get.content_length, 0u);
  const RequestHead two =
      ScanRequestHead("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 9\r\n\r\n", kMax);
  EXPECT_EQ(two.content_length, 3u);
  // Lines cpp-httplib skips (no CR, no colon, empty value) do not end or frame the request.
  const RequestHead odd = ScanRequestHead(
      "POST / HTTP/1.1\r\nX: y\nContent-Length: 5\r\nNoColon\r\nContent-Length:\r\n\r\n", kMax);
  EXPECT_EQ(odd.state, State::kComplete);
  EXPECT_EQ(odd.content_length, 5u);
}

TEST(RequestHeadTest, ChunkedAndExpectContinue) {
  const RequestHead h = ScanRequestHead(
      "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n", kMax);
  EXPECT_EQ(h.state, State::kComplete);
  EXPECT_TRUE(h.chunked);
  EXPECT_TRUE(h.expect_continue);
}

TEST(RequestHeadTest, RefusesWhatItCannotFrame) {
  EXPECT_EQ(ScanRequestHead("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", kMax).state,
            State::kMalformed);
  EXPECT_EQ(ScanRequestHead("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", kMax).state,
            State::kMalformed);
  EXPECT_EQ(
      ScanRequestHead("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", kMax)
          .state,
      State::kMalformed);
  EXPECT_EQ(ScanRequestHead("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", kMax).state,
            State::kMalformed);
  // A head without an end within the limit is too large; below the limit, incomplete.
  const std::string endless = "GET / HTTP/1.1\r\nX-Long: " + std::string(2000, 'a');
  EXPECT_EQ(ScanRequestHead(endless, kMax).state, State::kTooLarge);
  EXPECT_EQ(ScanRequestHead(endless.substr(0, 500), kMax).state, State::kIncomplete);
}

}  // namespace
}  // namespace odlm::server
