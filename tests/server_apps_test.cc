// End-to-end tests of apps and keys, persistence and load: a real `odlm serve` with a keys file and
// a state directory, many concurrent clients, a kill -9 and a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "server/sse.h"
#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

std::string NewContext(httplib::Client& c, const std::string& system, int* status = nullptr) {
  auto r = c.Post("/v1/contexts", json{{"system", system}}.dump(), "application/json");
  if (status) *status = r ? r->status : -100 - static_cast<int>(r.error());
  if (!r || r->status != 201) return "";
  return BodyJson(r)["id"];
}

// One turn on a context; returns the reply (or nullopt on failure). Streams when asked.
std::optional<std::string> Turn(httplib::Client& c, const std::string& id,
                                const std::string& content, bool stream, int max_tokens = 6) {
  const std::string body =
      json{{"content", content}, {"max_tokens", max_tokens}, {"stream", stream}}.dump();
  const std::string path = "/v1/contexts/" + id + "/messages";
  if (!stream) {
    auto r = c.Post(path, body, "application/json");
    if (!r || r->status != 200) return std::nullopt;
    return BodyJson(r)["reply"].get<std::string>();
  }
  server::SseParser parser;
  std::vector<std::string> events;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    for (auto& e : parser.Feed(std::string_view(d, n))) events.push_back(std::move(e));
    return true;
  };
  auto r = c.send(req);
  if (!r || r->status != 200 || events.size() < 2 || events.back() != "[DONE]") return std::nullopt;
  const json last = json::parse(events[events.size() - 2], nullptr, false);
  if (!last.is_object() || !last.contains("reply")) return std::nullopt;
  return last["reply"].get<std::string>();
}

class ServerAppsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = GenerateSmallModel(dir_.path());
    keys_ = dir_.path() + "/keys.json";
    state_ = dir_.path() + "/state";
  }
  TempDir dir_;
  std::string model_, keys_, state_;
};

TEST_F(ServerAppsTest, KeysIsolationAndLimits) {
  const std::string a = AddApp(keys_, "alpha");
  const std::string b = AddApp(keys_, "beta", "--app-max-contexts 2 --app-max-context-tokens 64");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  // The keys file holds no key in clear, and a name cannot be added twice.
  const ProcessResult cat = RunProcess({"cat", keys_});
  ASSERT_EQ(cat.exit_code, 0);
  EXPECT_EQ(cat.out.find(a), std::string::npos);
  EXPECT_NE(RunOdlm("serve --keys '" + keys_ + "' --add-app alpha").exit_code, 0);

  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_, "--state-dir", state_}));
  auto anon = server.Client();
  auto bad = server.Client("odlm-0123");
  auto ca = server.Client(a);
  auto cb = server.Client(b);
  EXPECT_EQ(anon.Get("/health")->status, 200);  // health needs no key
  for (auto* c : {&anon, &bad}) {
    auto r = c->Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}]})",
                     "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(BodyJson(r)["error"]["type"], "authentication_error");
    EXPECT_EQ(c->Get("/v1/models")->status, 401);
  }
  EXPECT_EQ(ca.Get("/v1/models")->status, 200);

  // A context belongs to its app: the other app gets 404 for every operation.
  const std::string ida = NewContext(ca, "alpha's secret system prompt");
  ASSERT_FALSE(ida.empty());
  ASSERT_TRUE(Turn(ca, ida, "alpha message", false).has_value());
  EXPECT_EQ(cb.Get("/v1/contexts/" + ida)->status, 404);
  EXPECT_EQ(
      cb.Post("/v1/contexts/" + ida + "/messages", R"({"content":"peek"})", "application/json")
          ->status,
      404);
  EXPECT_EQ(cb.Delete("/v1/contexts/" + ida)->status, 404);
  const json own = BodyJson(ca.Get("/v1/contexts/" + ida));
  EXPECT_EQ(own["system"], "alpha's secret system prompt");
  EXPECT_EQ(own["messages"].size(), 2u);  // beta's attempts left nothing behind

  // No prefix reuse across apps: beta sending alpha's exact prompt computes it all.
  const std::string chat = R"({"messages":[{"role":"user","content":"shared words here"}],
                              "max_tokens":3})";
  ASSERT_EQ(ca.Post("/v1/chat/completions", chat, "application/json")->status, 200);
  const json again_a = BodyJson(ca.Post("/v1/chat/completions", chat, "application/json"));
  EXPECT_GT(again_a["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);
  const json first_b = BodyJson(cb.Post("/v1/chat/completions", chat, "application/json"));
  EXPECT_EQ(first_b["usage"]["prompt_tokens_details"]["cached_tokens"], 0);

  // Per-app limits: beta may hold 2 contexts, and 64 tokens per request.
  int status = 0;
  const std::string b1 = NewContext(cb, "", &status);
  EXPECT_EQ(status, 201);
  EXPECT_FALSE(NewContext(cb, "", &status).empty());
  EXPECT_TRUE(NewContext(cb, "", &status).empty());
  EXPECT_EQ(status, 429);
  auto longmsg =
      cb.Post("/v1/contexts/" + b1 + "/messages",
              json{{"content", std::string(400, 'z') + " end"}}.dump(), "application/json");
  EXPECT_EQ(longmsg->status, 400);
  EXPECT_EQ(BodyJson(longmsg)["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(cb.Delete("/v1/contexts/" + b1)->status, 200);
  EXPECT_FALSE(NewContext(cb, "", &status).empty());  // room again after the delete

  // Restart (SIGTERM, exit 0): transcripts come back, ownership too.
  EXPECT_EQ(server.Stop(SIGTERM), 0);
  ServerProcess again;
  ASSERT_TRUE(again.Start({"-m", model_, "--keys", keys_, "--state-dir", state_}));
  auto ca2 = again.Client(a);
  auto cb2 = again.Client(b);
  const json restored = BodyJson(ca2.Get("/v1/contexts/" + ida));
  EXPECT_EQ(restored["messages"], own["messages"]);
  EXPECT_EQ(restored["cached_tokens"], 0);  // KV is recomputed on first use
  EXPECT_EQ(cb2.Get("/v1/contexts/" + ida)->status, 404);
  auto r = ca2.Post("/v1/contexts/" + ida + "/messages", R"({"content":"after restart"})",
                    "application/json");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(BodyJson(r)["usage"]["reused_tokens"], 0);
  EXPECT_EQ(BodyJson(ca2.Get("/v1/contexts/" + ida))["messages"].size(), 4u);
  EXPECT_TRUE(NewContext(cb2, "", &status).empty());  // beta's 2 contexts survived too
  EXPECT_EQ(status, 429);
}

// 32 concurrent clients over 3 apps, mixed streaming and non-streaming, contexts and stateless
// calls. No request fails; every app sees exactly its own contexts and messages.
TEST_F(ServerAppsTest, AddAppWhileRunningTakesEffectWithoutRestart) {
  const std::string a = AddApp(keys_, "alpha");
  ASSERT_FALSE(a.empty());
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_}));
  auto ca = server.Client(a);
  int status = 0;
  ASSERT_FALSE(NewContext(ca, "a", &status).empty()) << status;

  // A second app added to the file while the service runs: its key works within seconds.
  const std::string b = AddApp(keys_, "beta");
  ASSERT_FALSE(b.empty());
  auto cb = server.Client(b);
  std::string id;
  for (int i = 0; i < 100 && id.empty(); ++i) {
    id = NewContext(cb, "b", &status);
    if (id.empty()) {
      EXPECT_EQ(status, 401);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_FALSE(id.empty()) << "the new app's key was not accepted: " << status;
  EXPECT_TRUE(Turn(cb, id, "Hello.", false).has_value());
  // The first app still works, and does not see the new app's context.
  EXPECT_TRUE(ca.Get("/v1/contexts/" + id)->status == 404);
  EXPECT_FALSE(NewContext(ca, "a2").empty());
}

TEST_F(ServerAppsTest, LoadThirtyTwoClientsThreeApps) {
  const std::vector<std::string> names = {"app0", "app1", "app2"};
  std::vector<std::string> keys;
  for (const auto& n : names) keys.push_back(AddApp(keys_, n, "--app-max-in-flight 16"));
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_, "--state-dir", state_, "--max-queue",
                            "64", "--parallel", "16"}));
  constexpr int kClients = 32;
  std::mutex mu;
  std::vector<std::string> failures;
  std::map<std::string, std::string> owner;              // context id → app
  std::map<std::string, std::vector<std::string>> sent;  // context id → user messages
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      const int app = i % 3;
      auto c = server.Client(keys[app]);
      auto fail = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back("client " + std::to_string(i) + ": " + what);
      };
      int status = 0;
      const std::string id = NewContext(c, names[app] + " client " + std::to_string(i), &status);
      if (id.empty()) return fail("create context: status " + std::to_string(status));
      {
        std::lock_guard<std::mutex> lock(mu);
        owner[id] = names[app];
      }
      for (int turn = 0; turn < 2; ++turn) {
        const std::string msg = names[app] + "/" + std::to_string(i) + "/" + std::to_string(turn);
        if (!Turn(c, id, msg, (i + turn) % 2 == 0)) return fail("turn " + std::to_string(turn));
        std::lock_guard<std::mutex> lock(mu);
        sent[id].push_back(msg);
      }
      const json body = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                         {"max_tokens", 5},
                         {"stream", i % 2 == 1}};
      auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
      if (!r || r->status != 200) fail("chat completion");
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures[0];
  EXPECT_EQ(owner.size(), static_cast<size_t>(kClients));
  // No time bound: a loaded machine may take any time; the duration is reported, not asserted.
  std::printf("%d clients' calls took %.1f s\n", kClients, seconds);
  // Isolation: each app reads its own contexts (exact transcripts) and gets 404 for the rest.
  for (size_t app = 0; app < names.size(); ++app) {
    auto c = server.Client(keys[app]);
    for (const auto& [id, who] : owner) {
      auto r = c.Get("/v1/contexts/" + id);
      ASSERT_TRUE(r);
      if (who != names[app]) {
        EXPECT_EQ(r->status, 404) << names[app] << " read " << who << "'s context";
        continue;
      }
      ASSERT_EQ(r->status, 200);
      const json j = BodyJson(r);
      ASSERT_EQ(j["messages"].size(), 4u) << j.dump();
      EXPECT_EQ(j["messages"][0]["content"], sent[id][0]);
      EXPECT_EQ(j["messages"][2]["content"], sent[id][1]);
      EXPECT_EQ(j["system"].get<std::string>().rfind(names[app] + " ", 0), 0u);
    }
  }
  // The scheduler batched requests together (continuous batching was exercised).
  const std::string metrics = server.Client(keys[0]).Get("/metrics")->body;
  // Nothing was refused, for any reason.
  size_t reasons = 0;
  for (size_t at = metrics.find("\nodlm_requests_rejected_total{"); at != std::string::npos;
       at = metrics.find("\nodlm_requests_rejected_total{", at + 1)) {
    const std::string line = metrics.substr(at + 1, metrics.find('\n', at + 1) - at - 1);
    EXPECT_EQ(line.substr(line.size() - 2), " 0") << line;
    ++reasons;
  }
  EXPECT_GT(reasons, 0u);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// kill -9 while clients are mid-call; after a restart every call that completed is intact.
TEST_F(ServerAppsTest, KillNineKeepsCompletedCalls) {
  const std::string key = AddApp(keys_, "crashy", "--app-max-in-flight 0 --app-max-contexts 0");
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys_, "--state-dir", state_}));
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> done;  // id → completed turns' messages
  std::atomic<bool> stop{false};
  std::atomic<int> completed{0}, finished{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      struct CountExit {
        std::atomic<int>& n;
        ~CountExit() { ++n; }
      } count_exit{finished};
      auto c = server.Client(key);
      c.set_read_timeout(10, 0);
      const std::string id = NewContext(c, "crash " + std::to_string(i));
      if (id.empty()) return;
      {
        std::lock_guard<std::mutex> lock(mu);
        done[id];
      }
      for (int turn = 0; !stop.load() && turn < 50; ++turn) {
        const std::string msg = std::to_string(i) + ":" + std::to_string(turn);
        auto reply = Turn(c, id, msg, turn % 2 == 0, 4);
        if (!reply) return;  // the server died under us
        std::lock_guard<std::mutex> lock(mu);
        done[id].push_back(msg);
        done[id].push_back(*reply);
        ++completed;
      }
    });
  }
  // Until 12 calls completed — or every client gave up, or a minute passed (bounded: a failing
  // server must fail the test, not hang it).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (completed.load() < 12 && finished.load() < 8 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.Kill(SIGKILL);
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GE(completed.load(), 12) << "the clients completed too few calls before the kill";

  ServerProcess again;
  ASSERT_TRUE(again.Start({"-m", model_, "--keys", keys_, "--state-dir", state_}));
  auto c = again.Client(key);
  ASSERT_GE(done.size(), 4u);  // a client may not have got its context before the kill
  for (const auto& [id, messages] : done) {
    const json j = BodyJson(c.Get("/v1/contexts/" + id));
    ASSERT_TRUE(j.contains("messages")) << id;
    const json& got = j["messages"];
    // Every completed call is there, in order; at most one more turn (a call that committed but
    // whose answer was lost in the kill), never half a turn.
    ASSERT_GE(got.size(), messages.size());
    EXPECT_LE(got.size(), messages.size() + 2);
    EXPECT_EQ(got.size() % 2, 0u);
    for (size_t k = 0; k < messages.size(); ++k) EXPECT_EQ(got[k]["content"], messages[k]);
  }
  EXPECT_EQ(again.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace odlm::testing
