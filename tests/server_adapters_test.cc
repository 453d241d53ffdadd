// End-to-end tests of per-request LoRA adapters in `odlm serve`: a real server process on the
// shared tiny llama with the shared rank-8 adapter, driven over HTTP.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/server_process.h"
#include "tests/support/shared_testdata.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

const char* kPrompt = "Once upon a time";

std::string CompletionBody(const json& adapters) {
  json body = {{"prompt", kPrompt}, {"max_tokens", 16}, {"temperature", 0}, {"ignore_eos", true}};
  if (!adapters.is_null()) body["adapters"] = adapters;
  return body.dump();
}

// Greedy completion text (fails the test on a non-200 answer).
std::string Complete(httplib::Client& c, const json& adapters) {
  auto r = c.Post("/v1/completions", CompletionBody(adapters), "application/json");
  EXPECT_TRUE(r);
  if (!r) return "";
  EXPECT_EQ(r->status, 200) << r->body;
  const json j = BodyJson(r);
  return j.is_object() && j.contains("choices") ? j["choices"][0]["text"].get<std::string>() : "";
}

class ServerAdaptersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_SHARED_TESTDATA();
    model_ = SharedTestdataPath("models/tiny-llama-f32.gguf");
    adapter_ = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
  }
  bool StartServer(ServerProcess* s, std::vector<std::string> extra) {
    std::vector<std::string> args = {"-m", model_, "--threads", "2", "--lora", "sum=" + adapter_};
    args.insert(args.end(), extra.begin(), extra.end());
    return s->Start(args);
  }
  std::string model_, adapter_;
};

TEST_F(ServerAdaptersTest, AdapterChangesGreedyOutputDeterministically) {
  ServerProcess server;
  ASSERT_TRUE(StartServer(&server, {}));
  auto c = server.Client();
  const json with = json::array({{{"name", "sum"}, {"scale", 1.0}}});
  const std::string base = Complete(c, nullptr);
  const std::string adapted = Complete(c, with);
  ASSERT_FALSE(base.empty());
  EXPECT_NE(base, adapted) << "the adapter did not change the greedy output";
  // Same request again (its cached session has the same set: prefix reuse) and interleaved:
  // a session computed under one set never leaks its KV into a request under another.
  EXPECT_EQ(Complete(c, with), adapted);
  EXPECT_EQ(Complete(c, nullptr), base);
  EXPECT_EQ(Complete(c, json::array()), base);  // explicitly none
  EXPECT_EQ(Complete(c, with), adapted);
  // The registered default scale (1) is used when "scale" is left out; scale 0 is the base.
  EXPECT_EQ(Complete(c, json::array({{{"name", "sum"}}})), adapted);
  EXPECT_EQ(Complete(c, json::array({{{"name", "sum"}, {"scale", 0.0}}})), base);
  // Chat completions and contexts take adapters too.
  json chat = {{"messages", json::array({{{"role", "user"}, {"content", "Hi"}}})},
               {"max_tokens", 8},
               {"temperature", 0},
               {"ignore_eos", true}};
  const json chat_base = BodyJson(c.Post("/v1/chat/completions", chat.dump(), "application/json"));
  chat["adapters"] = with;
  const json chat_with = BodyJson(c.Post("/v1/chat/completions", chat.dump(), "application/json"));
  EXPECT_NE(chat_base["choices"][0]["message"]["content"],
            chat_with["choices"][0]["message"]["content"]);
}

TEST_F(ServerAdaptersTest, DifferentSetsBatchedTogetherMatchSoloRuns) {
  ServerProcess server;
  ASSERT_TRUE(StartServer(&server, {"--parallel", "4"}));
  auto c = server.Client();
  const json sets[] = {json(nullptr), json::array({{{"name", "sum"}, {"scale", 1.0}}}),
                       json::array({{{"name", "sum"}, {"scale", 0.5}}})};
  std::string solo[3];
  for (int i = 0; i < 3; ++i) solo[i] = Complete(c, sets[i]);
  EXPECT_NE(solo[0], solo[1]);
  for (int round = 0; round < 2; ++round) {
    std::string got[6];
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&, i] {
        auto ci = server.Client();
        got[i] = Complete(ci, sets[i % 3]);
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], solo[i % 3]) << "request " << i;
  }
}

TEST_F(ServerAdaptersTest, UnknownOrBadAdapterIs400) {
  ServerProcess server;
  ASSERT_TRUE(StartServer(&server, {}));
  auto c = server.Client();
  auto r = c.Post("/v1/completions", CompletionBody(json::array({{{"name", "nosuch"}}})),
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json e = BodyJson(r)["error"];
  EXPECT_NE(e["message"].get<std::string>().find("nosuch"), std::string::npos) << r->body;
  EXPECT_EQ(e["param"], "adapters");
  r = c.Post("/v1/completions", CompletionBody(json::array({{{"name", "sum"}, {"scale", 1e9}}})),
             "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  // A context message with an unknown adapter: 400, and the context is still usable.
  const json ctx = BodyJson(c.Post("/v1/contexts", "{}", "application/json"));
  const std::string path = "/v1/contexts/" + ctx["id"].get<std::string>() + "/messages";
  r = c.Post(path, R"({"content":"hi","max_tokens":2,"adapters":[{"name":"nosuch"}]})",
             "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = c.Post(path, R"({"content":"hi","max_tokens":2,"adapters":[{"name":"sum"}]})",
             "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // Without --allow-adapter-admin, registering and unregistering are refused; listing works.
  r = c.Post("/v1/adapters", json({{"name", "x"}, {"path", adapter_}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(c.Delete("/v1/adapters/sum")->status, 403);
  const json list = BodyJson(c.Get("/v1/adapters"));
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["name"], "sum");
}

TEST_F(ServerAdaptersTest, RegisterListUnregisterAtRunTime) {
  ServerProcess server;
  ASSERT_TRUE(StartServer(&server, {"--allow-adapter-admin"}));
  auto c = server.Client();
  const std::string adapted = Complete(c, json::array({{{"name", "sum"}}}));
  auto r = c.Post("/v1/adapters", json({{"name", "again"}, {"path", adapter_}}).dump(),
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(BodyJson(r)["name"], "again");
  json list = BodyJson(c.Get("/v1/adapters"));
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_EQ(list["data"][0]["name"], "again");  // sorted by name
  EXPECT_GT(list["data"][0]["parameters"].get<int64_t>(), 0);
  // The same file under another name computes the same thing.
  EXPECT_EQ(Complete(c, json::array({{{"name", "again"}}})), adapted);
  // A name in use, a missing file, a bad name.
  EXPECT_EQ(c.Post("/v1/adapters", json({{"name", "again"}, {"path", adapter_}}).dump(),
                   "application/json")
                ->status,
            409);
  EXPECT_EQ(c.Post("/v1/adapters", json({{"name", "gone"}, {"path", "/nonexistent.gguf"}}).dump(),
                   "application/json")
                ->status,
            400);
  EXPECT_EQ(c.Post("/v1/adapters", json({{"name", "../x"}, {"path", adapter_}}).dump(),
                   "application/json")
                ->status,
            400);
  // Unregister: gone from the list, requests naming it are refused, others unaffected.
  r = c.Delete("/v1/adapters/again");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(c.Delete("/v1/adapters/again")->status, 404);
  list = BodyJson(c.Get("/v1/adapters"));
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(c.Post("/v1/completions", CompletionBody(json::array({{{"name", "again"}}})),
                   "application/json")
                ->status,
            400);
  EXPECT_EQ(Complete(c, json::array({{{"name", "sum"}}})), adapted);
}

}  // namespace
}  // namespace odlm::testing
