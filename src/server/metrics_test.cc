#include "server/metrics.h"

#include <gtest/gtest.h>

namespace odlm::server {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(HistogramTest, CumulativeBuckets) {
  Histogram h({0.1, 1, 10});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(0.5);
  h.Observe(100);
  std::string out;
  h.Render("t", &out);
  EXPECT_TRUE(Has(out, "t_bucket{le=\"0.1\"} 1"));
  EXPECT_TRUE(Has(out, "t_bucket{le=\"1\"} 3"));
  EXPECT_TRUE(Has(out, "t_bucket{le=\"10\"} 3"));
  EXPECT_TRUE(Has(out, "t_bucket{le=\"+Inf\"} 4"));
  EXPECT_TRUE(Has(out, "t_count 4"));
  EXPECT_TRUE(Has(out, "t_sum 101.05"));
  EXPECT_DOUBLE_EQ(h.Quantile(0.5), 1);
  EXPECT_DOUBLE_EQ(h.Quantile(0.25), 0.1);
}

TEST(MetricsTest, RendersEveryFamily) {
  Metrics m;
  m.CountRequest("/v1/chat/completions", 200);
  m.CountRequest("/v1/chat/completions", 200);
  m.CountRequest("/v1/chat/completions", 400);
  m.AddTokens(10, 4, 5);
  m.ObserveTimeToFirstToken(0.02);
  m.SetQueueDepth(3);
  m.SetActiveRequests(2);
  m.SetContexts(7, 1);
  m.SetKvBytes(4096);
  m.AddDecodeStep(16, 0.5);
  m.AddDecodeStep(16, 0.25);
  const std::string t = m.Render();
  EXPECT_TRUE(Has(t, "odlm_requests_total{route=\"/v1/chat/completions\",code=\"200\"} 2"));
  EXPECT_TRUE(Has(t, "odlm_requests_total{route=\"/v1/chat/completions\",code=\"400\"} 1"));
  EXPECT_TRUE(Has(t, "odlm_prompt_tokens_total 10"));
  EXPECT_TRUE(Has(t, "odlm_prompt_tokens_reused_total 4"));
  EXPECT_TRUE(Has(t, "odlm_completion_tokens_total 5"));
  EXPECT_TRUE(Has(t, "odlm_queue_depth 3"));
  EXPECT_TRUE(Has(t, "odlm_active_requests 2"));
  EXPECT_TRUE(Has(t, "odlm_contexts 7"));
  EXPECT_TRUE(Has(t, "odlm_active_contexts 1"));
  EXPECT_TRUE(Has(t, "odlm_kv_memory_bytes 4096"));
  EXPECT_TRUE(Has(t, "odlm_decode_steps_total 2"));
  EXPECT_TRUE(Has(t, "odlm_decode_tokens_total 32"));
  EXPECT_TRUE(Has(t, "odlm_decode_seconds_total 0.75"));
  EXPECT_TRUE(Has(t, "odlm_time_to_first_token_seconds_bucket{le=\"0.025\"} 1"));
  EXPECT_TRUE(Has(t, "odlm_time_to_first_token_seconds_count 1"));
  EXPECT_TRUE(Has(t, "# TYPE odlm_time_to_first_token_seconds histogram"));
  EXPECT_EQ(m.requests("/v1/chat/completions", 200), 2u);
  // Every sample line is "name{labels} value" or "name value": no blank or malformed lines.
  size_t start = 0;
  while (start < t.size()) {
    const size_t nl = t.find('\n', start);
    ASSERT_NE(nl, std::string::npos);
    const std::string line = t.substr(start, nl - start);
    ASSERT_FALSE(line.empty());
    if (line[0] != '#') {
      EXPECT_NE(line.rfind(' '), std::string::npos) << line;
    }
    start = nl + 1;
  }
}

// Issue 16 (8): every refusal is counted, under its reason; every reason is always rendered.
TEST(MetricsTest, CountsRejectionsByReason) {
  Metrics m;
  m.CountRejected(RejectReason::kAppQueueFull);
  m.CountRejected(RejectReason::kAppQueueFull);
  m.CountRejected(RejectReason::kConnectionsPerPeer);
  const std::string t = m.Render();
  EXPECT_TRUE(Has(t, "odlm_requests_rejected_total{reason=\"app_queue_full\"} 2"));
  EXPECT_TRUE(Has(t, "odlm_requests_rejected_total{reason=\"connections_per_peer\"} 1"));
  EXPECT_TRUE(Has(t, "odlm_requests_rejected_total{reason=\"queue_full\"} 0"));
  EXPECT_TRUE(Has(t, "odlm_requests_rejected_total{reason=\"header_timeout\"} 0"));
  EXPECT_EQ(m.rejected(RejectReason::kAppQueueFull), 2u);
  EXPECT_EQ(m.rejected(RejectReason::kBodyTimeout), 0u);
}

}  // namespace
}  // namespace odlm::server
