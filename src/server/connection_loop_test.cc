// The connection loop through a real Listener on a loopback port, with raw sockets as clients
// (slow, idle, oversized, malformed) and httplib::Client as the well-behaved one.
#include "server/connection_loop.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <thread>

#include "server/listener.h"
#include "tests/support/raw_client.h"

namespace odlm::server {
namespace {

using odlm::testing::RawClient;

class ConnectionLoopTest : public ::testing::Test {
 protected:
  void Start(ConnectionLimits limits, int threads = 4) {
    routes_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello", "text/plain");
    });
    routes_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    routes_.Delete("/thing", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("deleted " + std::to_string(req.body.size()), "text/plain");
    });
    routes_.Open();
    ListenerOptions o;
    o.handler_threads = threads;
    o.limits = limits;
    o.on_reject = [this](RejectReason r) {
      std::lock_guard<std::mutex> lock(mu_);
      ++rejected_[r];
    };
    auto l = Listener::Tcp(&routes_, "127.0.0.1", 0, o);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    listener_ = std::move(l).value();
    thread_ = std::thread([this] { listener_->Run(); });
    while (!listener_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  int Rejected(RejectReason r) {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_[r];
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", listener_->port());
    c.set_read_timeout(20, 0);
    return c;
  }

  RoutingServer routes_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
  std::mutex mu_;
  std::map<RejectReason, int> rejected_;
};

TEST_F(ConnectionLoopTest, ServesKeptAliveAndPipelinedRequests) {
  Start(ConnectionLimits{});
  auto c = Client();
  c.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto r = c.Get("/hello");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
  }
  auto echo = c.Post("/echo", std::string(300000, 'e'), "text/plain");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->body.size(), 300000u);
  // A DELETE without Content-Length has no body (cpp-httplib alone would read until the client
  // closes).
  auto del = c.Delete("/thing");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->body, "deleted 0");
  // Two requests in one write; a GET's body is skipped, not taken for a request.
  RawClient raw(listener_->port());
  raw.Send(
      "GET /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzPOST /echo HTTP/1.1\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\nok");
  const std::string both = raw.ReadToEnd();
  EXPECT_NE(both.find("\r\n\r\nhello"), std::string::npos) << both;
  EXPECT_NE(both.find("\r\n\r\nok"), std::string::npos) << both;
}

// Issue 16 (3): slow and idle clients wait outside the handler threads. With 2 threads, 200
// connections trickling their heads do not keep another client from being answered.
TEST_F(ConnectionLoopTest, SlowClientsDoNotHoldHandlerThreads) {
  Start(ConnectionLimits{}, /*threads=*/2);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<RawClient>(listener_->port()));
    ASSERT_TRUE(slow.back()->connected());
    if (i % 2 == 0) slow.back()->Send("POST /echo HTTP/1.1\r\nX-Slow: ");  // half idle
  }
  auto r = Client().Get("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  // ... while every slow one is still waiting (their deadline is 10 s away).
  for (auto& s : slow) EXPECT_TRUE(s->Waiting());
}

TEST_F(ConnectionLoopTest, HeadAndBodyDeadlinesAnswer408) {
  ConnectionLimits limits;
  limits.header_timeout = std::chrono::milliseconds(300);
  limits.body_timeout = std::chrono::milliseconds(300);
  Start(limits);
  RawClient head(listener_->port());
  head.Send("GET /hello HTTP/1.1\r\nX-Slow: ");
  const std::string h = head.ReadToEnd();
  EXPECT_EQ(h.rfind("HTTP/1.1 408 ", 0), 0u) << h;
  EXPECT_NE(h.find("\"code\":\"request_timeout\""), std::string::npos) << h;
  EXPECT_NE(h.find("request line and headers"), std::string::npos) << h;
  RawClient body(listener_->port());
  body.Send("POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly a part");
  const std::string b = body.ReadToEnd();
  EXPECT_EQ(b.rfind("HTTP/1.1 408 ", 0), 0u) << b;
  EXPECT_NE(b.find("request body"), std::string::npos) << b;
  // An idle connection is closed without an answer.
  RawClient idle(listener_->port());
  EXPECT_EQ(idle.ReadToEnd(), "");
  EXPECT_EQ(Rejected(RejectReason::kHeaderTimeout), 1);
  EXPECT_EQ(Rejected(RejectReason::kBodyTimeout), 1);
  // The service goes on.
  EXPECT_EQ(Client().Get("/hello")->body, "hello");
}

TEST_F(ConnectionLoopTest, OversizedAndMalformedRequestsAreRefused) {
  ConnectionLimits limits;
  limits.max_head_bytes = 4096;
  limits.max_body_bytes = 1000;
  Start(limits);
  RawClient big_head(listener_->port());
  big_head.Send("GET /hello HTTP/1.1\r\nX-Big: " + std::string(5000, 'h'));
  EXPECT_EQ(big_head.ReadToEnd().rfind("HTTP/1.1 431 ", 0), 0u);
  RawClient big_body(listener_->port());
  big_body.Send("POST /echo HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");  // not one byte sent
  const std::string b = big_body.ReadToEnd();
  EXPECT_EQ(b.rfind("HTTP/1.1 413 ", 0), 0u) << b;
  EXPECT_NE(b.find("\"code\":\"request_too_large\""), std::string::npos) << b;
  RawClient bad(listener_->port());
  bad.Send("POST /echo HTTP/1.1\r\nContent-Length: ten\r\n\r\n");
  EXPECT_EQ(bad.ReadToEnd().rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(Rejected(RejectReason::kHeadersTooLarge), 1);
  EXPECT_EQ(Rejected(RejectReason::kBodyTooLarge), 1);
  EXPECT_EQ(Rejected(RejectReason::kMalformedHead), 1);
}

// A streamed (chunked) response goes out whole while the routes are open.
TEST_F(ConnectionLoopTest, StreamsChunkedResponses) {
  routes_.Get("/stream", [](const httplib::Request&, httplib::Response& res) {
    auto n = std::make_shared<int>(0);
    res.set_chunked_content_provider("text/plain", [n](size_t, httplib::DataSink& sink) {
      const std::string piece = "piece" + std::to_string((*n)++) + ";";
      sink.write(piece.data(), piece.size());
      if (*n == 5) sink.done();
      return true;
    });
  });
  Start(ConnectionLimits{});
  auto r = Client().Get("/stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "piece0;piece1;piece2;piece3;piece4;");
}

TEST_F(ConnectionLoopTest, ConnectionsPerPeerAndInAllAreCapped) {
  ConnectionLimits limits;
  limits.max_connections_per_peer = 3;
  limits.max_connections = 5;
  Start(limits);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<RawClient>(listener_->port()));
  // Connections are counted once accepted; a request on each shows they are.
  for (auto& h : held) h->Send("GET /hello HTTP/1.1\r\nX-Wait: ");
  RawClient fourth(listener_->port());
  const std::string r = fourth.ReadToEnd();
  EXPECT_EQ(r.rfind("HTTP/1.1 429 ", 0), 0u) << r;
  EXPECT_NE(r.find("\"code\":\"too_many_connections\""), std::string::npos) << r;
  EXPECT_NE(r.find("Retry-After: 1"), std::string::npos) << r;
  // Another peer is still served; two more fill the service, the next one gets 503.
  RawClient other(listener_->port(), "127.0.0.2");
  other.Send("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(other.ReadToEnd().find("\r\n\r\nhello"), std::string::npos);
  RawClient a(listener_->port(), "127.0.0.3"), b(listener_->port(), "127.0.0.4");
  a.Send("GET /hello HTTP/1.1\r\nX-Wait: ");
  b.Send("GET /hello HTTP/1.1\r\nX-Wait: ");
  RawClient full(listener_->port(), "127.0.0.5");
  EXPECT_EQ(full.ReadToEnd().rfind("HTTP/1.1 503 ", 0), 0u);
  EXPECT_EQ(Rejected(RejectReason::kConnectionsPerPeer), 1);
  EXPECT_EQ(Rejected(RejectReason::kConnectionsTotal), 1);
}

}  // namespace
}  // namespace odlm::server
