// Issue 16: what an adversarial review of `odlm serve` found, each reproduced against a real server
// process on a loopback port with real clients (httplib::Client, raw sockets for what no polite
// client sends).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "server/sse.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

std::string Chat(const std::string& content, int max_tokens, const std::string& extra = "") {
  json body = {{"messages", json::array({{{"role", "user"}, {"content", content}}})},
               {"max_tokens", max_tokens}};
  std::string s = body.dump();
  if (!extra.empty()) s = s.substr(0, s.size() - 1) + "," + extra + "}";
  return s;
}

// Rewrites a keys file without app `name` (atomically, as an editor or a script would).
void RemoveApp(const std::string& keys, const std::string& name) {
  std::ifstream in(keys);
  json doc = json::parse(in);
  json kept = json::array();
  for (const auto& a : doc["apps"]) {
    if (a["name"] != name) kept.push_back(a);
  }
  doc["apps"] = kept;
  const std::string tmp = keys + ".edit";
  std::ofstream(tmp) << doc.dump(2);
  ASSERT_EQ(std::rename(tmp.c_str(), keys.c_str()), 0);
}

// Polls GET /v1/models with `key` until it answers `status` (at most 200 tries, 50 ms apart).
bool WaitForStatus(const ServerProcess& server, const std::string& key, int status) {
  for (int i = 0; i < 200; ++i) {
    auto r = server.Client(key).Get("/v1/models");
    if (r && r->status == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The value of a sample line of /metrics ("name{labels}"), or -1.
double Metric(const ServerProcess& server, const std::string& key, const std::string& sample) {
  auto r = server.Client(key).Get("/metrics");
  if (!r) return -1;
  const size_t at = ("\n" + r->body).find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(r->body.c_str() + at + sample.size() + 1, nullptr);
}

class ServerHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = GenerateSmallModel(dir_.path());
    keys_ = dir_.path() + "/keys.json";
  }
  TempDir dir_;
  std::string model_, keys_;
};

// (1) A key revoked while the request's body is still arriving: 401, and the server goes on.
TEST_F(ServerHardeningTest, KeyRevokedWhileTheBodyArrivesIs401) {
  const std::string alpha = AddApp(keys_, "alpha");
  const std::string beta = AddApp(keys_, "beta");
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_}));
  const std::string body = R"({"content":"hello"})";
  const std::string head =
      "POST /v1/contexts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alpha +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  RawClient plain(server.port());  // the headers now, the body after the revocation
  plain.Send(head + "\r\n");
  RawClient expect(server.port());  // the same with Expect: 100-continue
  expect.Send(head + "Expect: 100-continue\r\n\r\n");
  const std::string cont = expect.Read("\r\n\r\n");
  EXPECT_EQ(cont.rfind("HTTP/1.1 100 Continue", 0), 0u) << cont;
  RemoveApp(keys_, "alpha");
  ASSERT_TRUE(WaitForStatus(server, alpha, 401)) << "the revocation never took effect";
  for (RawClient* c : {&plain, &expect}) {
    c->Send(body);
    const std::string answer = c->Read("}}");
    EXPECT_NE(answer.find("HTTP/1.1 401 "), std::string::npos) << answer;
    EXPECT_NE(answer.find("invalid_api_key"), std::string::npos) << answer;
  }
  auto still = server.Client(beta).Get("/v1/models");
  ASSERT_TRUE(still) << "the server died";
  EXPECT_EQ(still->status, 200);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// (2) and (6): bodies no parser may choke on, then the server still answers.
TEST_F(ServerHardeningTest, DeepNestingAndHugeNumbersAre400) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_}));
  auto c = server.Client();
  const std::string deep = std::string(400000, '[') + std::string(400000, ']');
  for (const std::string& body :
       {Chat("x", 2, R"("n":)" + deep),
        R"({"prompt":"x","compose":{"mode":"merged","stages":[{"adapters":[]},{"adapters":[]}],)"
        R"("merge_rank":)" +
            deep + "}}"}) {
    const bool chat = body.find("messages") != std::string::npos;
    auto r = c.Post(chat ? "/v1/chat/completions" : "/v1/completions", body, "application/json");
    ASSERT_TRUE(r) << "no answer (the server died?)";
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(BodyJson(r)["error"]["code"], "invalid_json");
    EXPECT_LT(r->body.size(), 400u);
  }
  for (const std::string& body :
       {Chat("x", 2, R"("temperature":1e999)"), Chat("x", 2, R"("user":{"a":[-1e400]})")}) {
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_EQ(BodyJson(r)["error"]["code"], "invalid_json");
  }
  auto ctx = c.Post("/v1/contexts", R"({"system":"s","x":1e999})", "application/json");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->status, 400);
  EXPECT_EQ(c.Get("/health")->status, 200);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// (7) A client that posts its next message the moment it reads [DONE] never gets 409.
TEST_F(ServerHardeningTest, NoConflictRightAfterAStreamedContextMessage) {
  model_ = GenerateSmallModel(dir_.path(), /*ctx=*/4096);  // room for 80 turns
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_}));
  auto c = server.Client();
  auto created = c.Post("/v1/contexts", "{}", "application/json");
  ASSERT_EQ(created->status, 201);
  const std::string id = BodyJson(created)["id"];
  const std::string path = "/v1/contexts/" + id + "/messages";
  std::vector<int> follow_ups;
  for (int i = 0; i < 40; ++i) {
    server::SseParser parser;
    bool posted = false;
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = R"({"content":"turn )" + std::to_string(i) + R"(","max_tokens":3,"stream":true})";
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
      for (const std::string& e : parser.Feed(std::string_view(d, n))) {
        if (e == "[DONE]" && !posted) {  // at once, before the response has ended
          posted = true;
          auto r = server.Client().Post(path, R"({"content":"next","max_tokens":1})",
                                        "application/json");
          follow_ups.push_back(r ? r->status : -1);
        }
      }
      return true;
    };
    auto r = c.send(req);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  ASSERT_EQ(follow_ups.size(), 40u);
  for (int status : follow_ups) EXPECT_EQ(status, 200);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// (10) Sixteen concurrent requests from an app with 8 in flight (the default) all succeed: the
// burst waits its turn instead of getting 429. Another app is not held up by the burst: its short
// request, sent while the burst's first 8 long ones run, ends before those 8 (a scheduler
// that queued it behind the burst would end it after the first 8 at least). The burst's answers
// are 8x longer than the other app's, so that the order does not depend on the machine's speed.
TEST_F(ServerHardeningTest, AppBurstIsQueuedAndOtherAppsAreNotHeldUp) {
  const std::string burst = AddApp(keys_, "burst");
  const std::string calm = AddApp(keys_, "calm");
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_, "--parallel", "12", "--threads", "2"}));
  std::atomic<int> ok{0}, other{0}, burst_done{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      auto r = server.Client(burst).Post(
          "/v1/chat/completions", Chat("burst " + std::to_string(i), 192, R"("ignore_eos":true)"),
          "application/json");
      (r && r->status == 200 ? ok : other)++;
      ++burst_done;
    });
  }
  // The other app's request, sent while the burst is in flight, is served alongside it.
  while (burst_done.load() == 0 && Metric(server, calm, "odlm_active_requests") < 8) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto r = server.Client(calm).Post("/v1/chat/completions",
                                    Chat("calm", 24, R"("ignore_eos":true)"), "application/json");
  const int burst_done_when_calm_finished = burst_done.load();
  for (auto& t : clients) t.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(other.load(), 0);
  EXPECT_LT(burst_done_when_calm_finished, 8) << "the burst held up the other app";
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// (8) and (10): only a full app queue is refused (429 app_queue_full), and every refusal is
// counted by its reason.
TEST_F(ServerHardeningTest, FullAppQueueIsRefusedAndCounted) {
  const std::string tiny = AddApp(keys_, "tiny", "--app-max-in-flight 1");
  {  // no queue: "max_queued": 0 (written by hand: --app-max-queued 0 does the same)
    std::ifstream in(keys_);
    json doc = json::parse(in);
    doc["apps"][0]["max_queued"] = 0;
    std::ofstream(keys_ + ".edit") << doc.dump(2);
    ASSERT_EQ(std::rename((keys_ + ".edit").c_str(), keys_.c_str()), 0);
  }
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_, "--threads", "2"}));
  // While a first request streams, a second one is refused at once.
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = Chat("long", 200, R"("ignore_eos":true,"stream":true)");
  req.set_header("Content-Type", "application/json");
  int second_status = 0;
  std::string second_code, retry_after;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
    if (second_status == 0) {  // the first is generating now
      auto r2 = server.Client(tiny).Post("/v1/chat/completions", Chat("x", 2), "application/json");
      second_status = r2 ? r2->status : -1;
      const json j = BodyJson(r2);
      if (j.is_object() && j.contains("error")) second_code = j["error"].value("code", "");
      if (r2) retry_after = r2->get_header_value("Retry-After");
      return false;  // done: drop the stream
    }
    return true;
  };
  auto c = server.Client(tiny);
  (void)c.send(req);
  EXPECT_EQ(second_status, 429);
  EXPECT_EQ(second_code, "app_queue_full");
  EXPECT_EQ(retry_after, "1");
  EXPECT_EQ(Metric(server, tiny, "odlm_requests_rejected_total{reason=\"app_queue_full\"}"), 1);
  EXPECT_EQ(Metric(server, tiny, "odlm_requests_rejected_total{reason=\"queue_full\"}"), 0);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// (3) 200 slow and idle connections do not keep another client from being answered.
TEST_F(ServerHardeningTest, SlowConnectionsDoNotStarveOthers) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_}));  // headers must come within 10 s
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(slow.back()->connected());
    if (i % 2 == 0) slow.back()->Send("POST /v1/chat/completions HTTP/1.1\r\n");  // half idle
  }
  // A header line every second from the slow half, for as long as the other client waits.
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    for (int t = 0; t < 60 && !done.load(); ++t) {
      for (size_t i = 0; i < slow.size(); i += 2)
        slow[i]->Send("X-Slow: " + std::to_string(t) + "\r\n");
      for (int k = 0; k < 10 && !done.load(); ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  auto r = server.Client().Post("/v1/chat/completions", Chat("hello", 4), "application/json");
  size_t still_waiting = 0;
  for (auto& s : slow) still_waiting += s->Waiting() ? 1 : 0;
  done = true;
  trickle.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.Client().Get("/health")->status, 200);
  // Answered while all 200 were still holding their connections.
  EXPECT_EQ(still_waiting, 200u);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// GET /v1/contexts lists the calling app's contexts (issue 17, item 3).
TEST_F(ServerHardeningTest, ListsTheCallingAppsContexts) {
  const std::string a = AddApp(keys_, "alpha");
  const std::string b = AddApp(keys_, "beta");
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_}));
  auto ca = server.Client(a);
  auto cb = server.Client(b);
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto r = ca.Post("/v1/contexts", R"({"system":"s"})", "application/json");
    ASSERT_EQ(r->status, 201);
    ids.push_back(BodyJson(r)["id"]);
  }
  ASSERT_EQ(cb.Post("/v1/contexts", "{}", "application/json")->status, 201);
  ASSERT_EQ(ca.Post("/v1/contexts/" + ids[1] + "/messages", R"({"content":"hi","max_tokens":2})",
                    "application/json")
                ->status,
            200);
  auto listed = ca.Get("/v1/contexts");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  const json list = BodyJson(listed);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u) << list.dump();
  std::map<std::string, json> by_id;
  for (const json& c : list["data"]) by_id[c["id"]] = c;
  ASSERT_EQ(by_id.count(ids[0]) + by_id.count(ids[1]), 2u);
  EXPECT_EQ(by_id[ids[0]]["n_messages"], 0);
  EXPECT_EQ(by_id[ids[1]]["n_messages"], 2);
  EXPECT_GT(by_id[ids[1]]["cached_tokens"].get<int>(), 0);
  EXPECT_EQ(by_id[ids[1]]["object"], "context");
  EXPECT_TRUE(by_id[ids[1]]["created_ms"].is_number_integer());
  EXPECT_EQ(by_id[ids[1]]["busy"], false);
  EXPECT_EQ(BodyJson(cb.Get("/v1/contexts"))["data"].size(), 1u);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace odlm::testing
