// End-to-end tests of `odlm serve`: a real server process on a loopback port with a small
// generated model, driven by a real HTTP client (httplib::Client).
#include <gtest/gtest.h>

#include "server/sse.h"
#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

std::string Chat(const std::string& content, int max_tokens, const std::string& extra = "") {
  json body = {{"model", "small"},
               {"messages", json::array({{{"role", "user"}, {"content", content}}})},
               {"max_tokens", max_tokens}};
  std::string s = body.dump();
  if (!extra.empty()) s = s.substr(0, s.size() - 1) + "," + extra + "}";
  return s;
}

// Streams a POST and returns the SSE events' data.
std::vector<std::string> PostStream(httplib::Client& c, const std::string& path,
                                    const std::string& body, int* status) {
  std::vector<std::string> events;
  server::SseParser parser;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    for (auto& e : parser.Feed(std::string_view(data, n))) events.push_back(std::move(e));
    return true;
  };
  auto res = c.send(req);
  *status = res ? res->status : -1;
  return events;
}

class ServerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_ = GenerateSmallModel(dir_->path());
    server_ = new ServerProcess();
    ASSERT_TRUE(server_->Start({"-m", model_, "--max-body", "65536", "--threads", "2"}));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static TempDir* dir_;
  static std::string model_;
  static ServerProcess* server_;
};
TempDir* ServerE2eTest::dir_ = nullptr;
std::string ServerE2eTest::model_;
ServerProcess* ServerE2eTest::server_ = nullptr;

TEST_F(ServerE2eTest, HealthAndModels) {
  auto c = server_->Client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(BodyJson(h)["status"], "ok");
  auto m = BodyJson(c.Get("/v1/models"));
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m["object"], "list");
  ASSERT_EQ(m["data"].size(), 1u);
  EXPECT_EQ(m["data"][0]["id"], "small");
  EXPECT_EQ(c.Get("/v1/models/small")->status, 200);
  EXPECT_EQ(c.Get("/v1/models/other")->status, 404);
}

TEST_F(ServerE2eTest, ChatCompletionShapeUsageAndDeterminism) {
  auto c = server_->Client();
  const std::string body = Chat("Tell me a story.", 6, R"("temperature":0.9,"seed":11)");
  auto r1 = c.Post("/v1/chat/completions", body, "application/json");
  ASSERT_TRUE(r1);
  ASSERT_EQ(r1->status, 200) << r1->body;
  const json j = BodyJson(r1);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "small");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  const std::string text = j["choices"][0]["message"]["content"];
  const std::string finish = j["choices"][0]["finish_reason"];
  const json& u = j["usage"];
  EXPECT_GT(u["prompt_tokens"].get<int>(), 3);
  EXPECT_LE(u["completion_tokens"].get<int>(), 6);
  if (finish == "length") {
    EXPECT_EQ(u["completion_tokens"], 6);
  }
  EXPECT_EQ(u["total_tokens"].get<int>(),
            u["prompt_tokens"].get<int>() + u["completion_tokens"].get<int>());
  // Same seed: same text; the repeat reuses the cached prompt prefix.
  const json j2 = BodyJson(c.Post("/v1/chat/completions", body, "application/json"));
  EXPECT_EQ(j2["choices"][0]["message"]["content"], text);
  EXPECT_GT(j2["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 0);
}

TEST_F(ServerE2eTest, StreamingMatchesNonStreaming) {
  auto c = server_->Client();
  const std::string plain = Chat("Stream this.", 12, R"("temperature":0)");
  const json j = BodyJson(c.Post("/v1/chat/completions", plain, "application/json"));
  const std::string expected = j["choices"][0]["message"]["content"];
  int status = 0;
  auto events =
      PostStream(c, "/v1/chat/completions",
                 Chat("Stream this.", 12,
                      R"("temperature":0,"stream":true,"stream_options":{"include_usage":true})"),
                 &status);
  EXPECT_EQ(status, 200);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  bool saw_finish = false, saw_usage = false;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json e = json::parse(events[i]);
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    if (!e["choices"].empty()) {
      const json& ch = e["choices"][0];
      if (i == 0) {
        EXPECT_EQ(ch["delta"]["role"], "assistant");
      }
      if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
      if (!ch["finish_reason"].is_null()) saw_finish = true;
    }
    if (e.contains("usage")) {
      saw_usage = true;
      EXPECT_EQ(e["usage"]["completion_tokens"], j["usage"]["completion_tokens"]);
    }
  }
  EXPECT_TRUE(saw_finish);
  EXPECT_TRUE(saw_usage);
  EXPECT_EQ(text, expected);
}

TEST_F(ServerE2eTest, StopStringEndsTheText) {
  auto c = server_->Client();
  const json full = BodyJson(
      c.Post("/v1/chat/completions", Chat("Go on.", 24, R"("temperature":0)"), "application/json"));
  const std::string text = full["choices"][0]["message"]["content"];
  ASSERT_GE(text.size(), 6u);
  // A stop string taken from the middle of the greedy text: the reply is what came before it.
  const std::string stop = text.substr(text.size() / 2, 2);
  const size_t at = text.find(stop);
  const json cut =
      BodyJson(c.Post("/v1/chat/completions",
                      Chat("Go on.", 24, R"("temperature":0,"stop":[)" + json(stop).dump() + "]"),
                      "application/json"));
  EXPECT_EQ(cut["choices"][0]["message"]["content"], text.substr(0, at));
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServerE2eTest, Completions) {
  auto c = server_->Client();
  const json j = BodyJson(c.Post("/v1/completions",
                                 R"({"prompt":"Once upon a time","max_tokens":5,"temperature":0})",
                                 "application/json"));
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_TRUE(j["choices"][0]["text"].is_string());
  EXPECT_EQ(j["usage"]["completion_tokens"].get<int>() <= 5, true);
  int status = 0;
  auto events = PostStream(c, "/v1/completions",
                           R"({"prompt":"Once upon a time","max_tokens":5,"temperature":0,
                               "stream":true})",
                           &status);
  EXPECT_EQ(status, 200);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    text += json::parse(events[i])["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, j["choices"][0]["text"]);
}

TEST_F(ServerE2eTest, BadInputGets4xxAndServiceKeepsServing) {
  auto c = server_->Client();
  struct Case {
    std::string path, body;
    int status;
    std::string param;
  };
  const std::vector<Case> cases = {
      {"/v1/chat/completions", "{not json", 400, ""},
      {"/v1/chat/completions", "[]", 400, ""},
      {"/v1/chat/completions", "{}", 400, "messages"},
      {"/v1/chat/completions", R"({"messages":"x"})", 400, "messages"},
      {"/v1/chat/completions", Chat("x", 5, R"("temperature":7)"), 400, "temperature"},
      {"/v1/chat/completions", Chat("x", 5, R"("top_p":"a")"), 400, "top_p"},
      {"/v1/chat/completions", Chat("x", 0), 400, "max_tokens"},
      {"/v1/chat/completions", Chat("x", 5, R"("n":2)"), 400, "n"},
      {"/v1/chat/completions", Chat(std::string(3000, 'a') + " b c d e f g h i j k", 5), 400,
       "messages"},
      {"/v1/completions", R"({"prompt":[1,2,99999]})", 400, ""},
      {"/v1/completions", R"({"prompt":7})", 400, "prompt"},
      {"/v1/contexts/ctx_nope/messages", R"({"content":"x"})", 404, ""},
      {"/v1/contexts", R"({"system":5})", 400, "system"},
      {"/v1/chat/completions", std::string(70000, ' '), 413, ""},
      {"/v1/unknown", "{}", 404, ""},
  };
  for (const auto& k : cases) {
    auto r = c.Post(k.path, k.body, "application/json");
    ASSERT_TRUE(r) << k.path;
    EXPECT_EQ(r->status, k.status) << k.path << " " << k.body.substr(0, 80) << " → " << r->body;
    const json e = BodyJson(r);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << r->body;
    EXPECT_TRUE(e["error"]["message"].is_string());
    EXPECT_FALSE(e["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(e["error"]["type"].is_string());
    if (!k.param.empty()) {
      EXPECT_EQ(e["error"]["param"], k.param) << r->body;
    }
  }
  EXPECT_EQ(c.Get("/v1/contexts/ctx_nope")->status, 404);
  EXPECT_EQ(c.Delete("/v1/contexts/ctx_nope")->status, 404);
  auto ok = c.Post("/v1/chat/completions", Chat("still there?", 3), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(ServerE2eTest, ContextsKeepKvBetweenCalls) {
  auto c = server_->Client();
  auto created =
      c.Post("/v1/contexts", R"({"system":"You are a terse assistant."})", "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  const std::string id = BodyJson(created)["id"];
  const std::string path = "/v1/contexts/" + id;
  const json t1 = BodyJson(c.Post(path + "/messages",
                                  R"({"content":"Hello there.","max_tokens":6,"temperature":0})",
                                  "application/json"));
  ASSERT_TRUE(t1.contains("reply")) << t1.dump();
  const int p1 = t1["usage"]["prompt_tokens"];
  EXPECT_EQ(t1["usage"]["reused_tokens"], 0);
  const json t2 = BodyJson(c.Post(path + "/messages",
                                  R"({"content":"And then?","max_tokens":6,"temperature":0})",
                                  "application/json"));
  // The follow-up computes only what is new: at least the whole first prompt is reused.
  EXPECT_GE(t2["usage"]["reused_tokens"].get<int>(), p1);
  EXPECT_EQ(t2["usage"]["new_prompt_tokens"].get<int>(),
            t2["usage"]["prompt_tokens"].get<int>() - t2["usage"]["reused_tokens"].get<int>());
  EXPECT_LT(t2["usage"]["new_prompt_tokens"].get<int>(),
            t2["usage"]["prompt_tokens"].get<int>() / 2 + 20);
  // Streaming turn.
  int status = 0;
  auto events = PostStream(c, path + "/messages",
                           R"({"content":"Last one.","max_tokens":4,"stream":true})", &status);
  EXPECT_EQ(status, 200);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  const json last = json::parse(events[events.size() - 2]);
  std::string streamed;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    streamed += json::parse(events[i])["delta"].get<std::string>();
  }
  EXPECT_EQ(last["reply"], streamed);
  // Transcript.
  const json info = BodyJson(c.Get(path));
  EXPECT_EQ(info["system"], "You are a terse assistant.");
  ASSERT_EQ(info["messages"].size(), 6u);
  EXPECT_EQ(info["messages"][0]["content"], "Hello there.");
  EXPECT_EQ(info["messages"][1]["content"], t1["reply"]);
  EXPECT_EQ(info["messages"][3]["content"], t2["reply"]);
  EXPECT_EQ(info["messages"][5]["content"], streamed);
  EXPECT_GT(info["cached_tokens"].get<int>(), 0);
  // Delete.
  EXPECT_EQ(c.Delete(path)->status, 200);
  EXPECT_EQ(c.Get(path)->status, 404);
  EXPECT_EQ(c.Post(path + "/messages", R"({"content":"x"})", "application/json")->status, 404);
}

TEST_F(ServerE2eTest, ContextMessagesGroundAnswersInADocument) {
  auto c = server_->Client();
  const std::string doc = "The lighthouse at Varn was finished in 1871 and is 41 metres tall.";
  // In a chat request: the document is part of the prompt.
  auto plain = [&](bool with_doc) {
    json messages = json::array();
    if (with_doc) messages.push_back({{"role", "context"}, {"content", doc}});
    messages.push_back({{"role", "user"}, {"content", "How tall is it?"}});
    const json body = {{"messages", messages}, {"max_tokens", 2}, {"temperature", 0}};
    const json r = BodyJson(c.Post("/v1/chat/completions", body.dump(), "application/json"));
    EXPECT_TRUE(r.contains("usage")) << r.dump();
    return r.contains("usage") ? r["usage"]["prompt_tokens"].get<int>() : 0;
  };
  EXPECT_GT(plain(true), plain(false) + 10);
  // In a persistent context: stored as its first message, sent with every message after.
  auto created = c.Post("/v1/contexts", json{{"context", doc}}.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  const std::string path = "/v1/contexts/" + BodyJson(created)["id"].get<std::string>();
  const json t1 = BodyJson(c.Post(path + "/messages",
                                  R"({"content":"How tall is it?","max_tokens":2,"temperature":0})",
                                  "application/json"));
  ASSERT_TRUE(t1.contains("usage")) << t1.dump();
  EXPECT_EQ(t1["usage"]["prompt_tokens"].get<int>(), plain(true));
  const json info = BodyJson(c.Get(path));
  ASSERT_EQ(info["messages"].size(), 3u) << info.dump();
  EXPECT_EQ(info["messages"][0]["role"], "context");
  EXPECT_EQ(info["messages"][0]["content"], doc);
  EXPECT_EQ(info["messages"][1]["role"], "user");
  EXPECT_EQ(c.Post("/v1/contexts", R"({"context":7})", "application/json")->status, 400);
  EXPECT_EQ(c.Delete(path)->status, 200);
}

TEST_F(ServerE2eTest, DisconnectCancelsGeneration) {
  auto metric = [&](const std::string& name) {
    auto r = server_->Client().Get("/metrics");
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(r->body.substr(at + name.size() + 2));
  };
  const double before = metric("odlm_generations_cancelled_total");
  ASSERT_GE(before, 0);
  {
    auto c = server_->Client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = Chat("long", 400, R"("stream":true,"temperature":1.0,"seed":3)");
    req.set_header("Content-Type", "application/json");
    int chunks = 0;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      return ++chunks < 2;  // hang up after the first event
    };
    c.send(req);
  }
  double after = before;
  for (int i = 0; i < 100 && after <= before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    after = metric("odlm_generations_cancelled_total");
  }
  EXPECT_GT(after, before);
}

TEST_F(ServerE2eTest, DecodePhaseCountersCountOnlyDecodeSteps) {
  auto metric = [&](const std::string& name) {
    auto r = server_->Client().Get("/metrics");
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(r->body.substr(at + name.size() + 2));
  };
  // Alone on the service (earlier tests' generations finished or cancelled).
  for (int i = 0; i < 200 && metric("odlm_active_requests") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double tokens = metric("odlm_decode_tokens_total");
  const double steps = metric("odlm_decode_steps_total");
  const double seconds = metric("odlm_decode_seconds_total");
  ASSERT_GE(tokens, 0);
  auto r = server_->Client().Post("/v1/chat/completions", Chat("Count.", 8, R"("ignore_eos":true)"),
                                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // The first token comes from the prefill pass; the other 7 from one decode-only pass each.
  EXPECT_EQ(metric("odlm_decode_tokens_total") - tokens, 7);
  EXPECT_EQ(metric("odlm_decode_steps_total") - steps, 7);
  EXPECT_GT(metric("odlm_decode_seconds_total"), seconds);
}

TEST_F(ServerE2eTest, MetricsExposition) {
  // ctest runs each test in its own process with a fresh server: answer one request first, so
  // the per-route counters have a line to show.
  auto models = server_->Client().Get("/v1/models");
  ASSERT_TRUE(models);
  // The counter is bumped after the response is written: poll briefly for it.
  auto r = server_->Client().Get("/metrics");
  for (int i = 0; i < 100 && r && r->body.find("odlm_requests_total{") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = server_->Client().Get("/metrics");
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  for (const char* name :
       {"odlm_requests_total{", "odlm_prompt_tokens_total ", "odlm_completion_tokens_total ",
        "odlm_queue_depth ", "odlm_time_to_first_token_seconds_bucket{le=\"+Inf\"} ",
        "odlm_active_contexts ", "odlm_kv_memory_bytes "}) {
    EXPECT_NE(r->body.find(name), std::string::npos) << name;
  }
}

TEST(ServerStartTest, RefusesNonLoopbackWithoutKeysAndBadModel) {
  ProcessResult r = RunOdlm("serve --host 0.0.0.0 --port 0");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("loopback"), std::string::npos);
  EXPECT_EQ(RunOdlm("serve -m /nonexistent.gguf --port 0").exit_code, 1);
  r = RunOdlm("serve --keys /nonexistent/keys.json --port 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--add-app"), std::string::npos) << r.err;
}

TEST(ServerQueueTest, FullQueueAnswers429WithRetryAfterAndSigtermExitsZero) {
  TempDir dir;
  const std::string model = GenerateSmallModel(dir.path());
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model, "--parallel", "1", "--max-queue", "1", "--threads", "1"}));
  std::atomic<int> ok{0}, rejected{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      auto c = server.Client();
      auto r = c.Post("/v1/chat/completions", Chat("queue", 300, R"("temperature":1,"seed":1)"),
                      "application/json");
      if (r && r->status == 200) {
        ++ok;
      } else if (r && r->status == 429) {
        ++rejected;
        if (r->get_header_value("Retry-After").empty()) retry_after = false;
        if (BodyJson(r)["error"]["code"] != "queue_full") ++other;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_GE(ok.load(), 2);
  EXPECT_GE(rejected.load(), 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(retry_after.load());
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace odlm::testing
