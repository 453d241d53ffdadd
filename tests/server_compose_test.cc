// tests/server_compose_test.cc — composite tasks in `odlm serve` ("compose" on /v1/completions and
// /v1/chat/completions): a real server on the shared tiny llama, compared with `odlm run
// --compose`; usage sums the passes; the merge is built once; malformed compose → 400.
#include <gtest/gtest.h>

#include <cstdlib>

#include "model/llama_model.h"
#include "tests/support/lora_fixtures.h"
#include "tests/support/server_process.h"
#include "tests/support/shared_testdata.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

const char* kPrompt = "Once upon a time";
const char* kTemplate = "Summary: {output}\nAgain:";

class ServerComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_SHARED_TESTDATA();
    model_ = SharedTestdataPath("models/tiny-llama-f32.gguf");
    a_ = SharedTestdataPath("adapters/tiny-llama-lora-r8.gguf");
    b_ = tmp_.path() + "/b.gguf";
    auto file = GgufFile::Open(model_);
    ASSERT_TRUE(file.ok());
    auto model = LlamaModel::Load(**file);
    ASSERT_TRUE(model.ok());
    ASSERT_TRUE(WriteVariantAdapter(a_, (*model)->LoraBase(), b_).ok());
    ASSERT_TRUE(server_.Start(
        {"-m", model_, "--threads", "2", "--lora", "a=" + a_, "--lora", "b=" + b_ + ":0.8"}));
  }
  // What `odlm run --compose ... --json` prints for the same composite (greedy, 12 tokens).
  json Cli(const std::string& mode) {
    const ProcessResult r = RunProcess({OdlmBinary(),
                                        "run",
                                        "-m",
                                        model_,
                                        "-t",
                                        "2",
                                        "--temp",
                                        "0",
                                        "-n",
                                        "12",
                                        "--ignore-eos",
                                        "-p",
                                        kPrompt,
                                        "--lora",
                                        "a=" + a_,
                                        "--lora",
                                        "b=" + b_ + ":0.8",
                                        "--compose",
                                        "a,b",
                                        "--mode",
                                        mode,
                                        "--stage-template",
                                        kTemplate,
                                        "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  json Compose(const std::string& mode) {
    return {
        {"mode", mode},
        {"stages",
         json::array({{{"adapters", json::array({{{"name", "a"}}})}},
                      {{"adapters", json::array({{{"name", "b"}}})}, {"template", kTemplate}}})}};
  }
  httplib::Result Post(const std::string& path, const json& body) {
    auto c = server_.Client();
    return c.Post(path, body.dump(), "application/json");
  }
  json CompletionBody(const json& compose) {
    return {{"prompt", kPrompt},
            {"max_tokens", 12},
            {"temperature", 0},
            {"ignore_eos", true},
            {"compose", compose}};
  }
  // The JSON answer of a request expected to succeed (fails the test otherwise).
  json PostOk(const std::string& path, const json& body) {
    auto r = Post(path, body);
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return BodyJson(r);
  }
  TempDir tmp_;
  ServerProcess server_;
  std::string model_, a_, b_;
};

TEST_F(ServerComposeTest, TwoPassCompletionEqualsTheCliAndSumsUsage) {
  const json j = PostOk("/v1/completions", CompletionBody(Compose("two-pass")));
  const json cli = Cli("two-pass");
  ASSERT_TRUE(cli.is_object());
  EXPECT_EQ(j["choices"][0]["text"], cli["text"]);
  ASSERT_EQ(j["compose"]["stages"].size(), 2u);
  EXPECT_EQ(j["compose"]["stages"][0]["text"], cli["stages"][0]["text"]);
  EXPECT_EQ(j["compose"]["mode"], "two-pass");
  // Usage counts both passes.
  EXPECT_EQ(j["usage"]["completion_tokens"], 24);
  EXPECT_EQ(j["usage"]["prompt_tokens"], cli["prompt_tokens"]);
  EXPECT_EQ(j["usage"]["prompt_tokens"].get<int64_t>(),
            j["compose"]["stages"][0]["prompt_tokens"].get<int64_t>() +
                j["compose"]["stages"][1]["prompt_tokens"].get<int64_t>());
  EXPECT_EQ(j["compose"]["stages"][1]["adapters"][0]["name"], "b");
  EXPECT_FLOAT_EQ(j["compose"]["stages"][1]["adapters"][0]["scale"].get<float>(), 0.8f);
}

TEST_F(ServerComposeTest, MergedEqualsTheCliAndIsBuiltOnce) {
  const json j = PostOk("/v1/completions", CompletionBody(Compose("merged")));
  const json cli = Cli("merged");
  ASSERT_TRUE(cli.is_object());
  EXPECT_EQ(j["choices"][0]["text"], cli["text"]);
  EXPECT_EQ(j["usage"]["completion_tokens"], 12);
  EXPECT_GT(j["compose"]["merge_ms"].get<double>(), 0.0);
  const json k = PostOk("/v1/completions", CompletionBody(Compose("merged")));
  EXPECT_EQ(k["choices"][0]["text"], cli["text"]);
  EXPECT_EQ(k["compose"]["merge_ms"].get<double>(), 0.0);  // from the cache
  // The merge is listed with the adapters.
  auto list = server_.Client().Get("/v1/adapters");
  ASSERT_TRUE(list);
  EXPECT_NE(list->body.find("compose:linear"), std::string::npos) << list->body;
}

TEST_F(ServerComposeTest, ChatCompose) {
  json body = {{"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                         {{"role", "user"}, {"content", "Tell a story."}}})},
               {"max_tokens", 8},
               {"temperature", 0},
               {"ignore_eos", true},
               {"compose", Compose("two-pass")}};
  const json j = PostOk("/v1/chat/completions", body);
  EXPECT_EQ(j["usage"]["completion_tokens"], 16);
  ASSERT_EQ(j["compose"]["stages"].size(), 2u);
  EXPECT_EQ(j["choices"][0]["message"]["content"], j["compose"]["stages"][1]["text"]);
  // Same request again: the same answer (greedy; sessions reused per adapter set).
  EXPECT_EQ(PostOk("/v1/chat/completions", body)["choices"][0]["message"]["content"],
            j["choices"][0]["message"]["content"]);
}

// The data events of an SSE body, parsed ([DONE] left out).
std::vector<json> Events(const std::string& body) {
  std::vector<json> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find('\n', pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data != "[DONE]") out.push_back(json::parse(data, nullptr, false));
  }
  return out;
}

TEST_F(ServerComposeTest, StreamedCompositeCarriesTheLastPassAndSummedUsage) {
  for (const std::string mode : {"two-pass", "merged"}) {
    const json whole = PostOk("/v1/completions", CompletionBody(Compose(mode)));
    json body = CompletionBody(Compose(mode));
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
    auto r = Post("/v1/completions", body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    std::string text;
    json last;
    for (const json& e : Events(r->body)) {
      ASSERT_TRUE(e.is_object()) << r->body;
      text += e["choices"][0]["text"].get<std::string>();
      last = e;
    }
    EXPECT_EQ(text, whole["choices"][0]["text"]) << mode;
    EXPECT_EQ(last["usage"]["completion_tokens"], whole["usage"]["completion_tokens"]) << mode;
    EXPECT_EQ(last["usage"]["prompt_tokens"], whole["usage"]["prompt_tokens"]) << mode;
    EXPECT_EQ(last["compose"]["stages"].size(), whole["compose"]["stages"].size()) << mode;
  }
  // Chat streams too: the deltas add up to the answer of the same request without a stream.
  json chat = {{"messages", json::array({{{"role", "user"}, {"content", "Tell a story."}}})},
               {"max_tokens", 8},
               {"temperature", 0},
               {"ignore_eos", true},
               {"compose", Compose("two-pass")}};
  const json whole = PostOk("/v1/chat/completions", chat);
  chat["stream"] = true;
  chat["stream_options"] = {{"include_usage", true}};
  auto r = Post("/v1/chat/completions", chat);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::string text;
  json usage;
  for (const json& e : Events(r->body)) {
    if (!e["choices"].empty() && e["choices"][0]["delta"].contains("content")) {
      text += e["choices"][0]["delta"]["content"].get<std::string>();
    }
    if (e.contains("usage")) usage = e["usage"];
  }
  EXPECT_EQ(text, whole["choices"][0]["message"]["content"]);
  EXPECT_EQ(usage["completion_tokens"], 16);
}

TEST_F(ServerComposeTest, MalformedComposeIs400NamingTheField) {
  struct Case {
    json compose;
    std::string param;
  };
  const json a = json::array({{{"name", "a"}}});
  const std::vector<Case> cases = {
      {"two-pass", "compose"},
      {{{"stages", json::array({{{"adapters", a}}, {{"adapters", a}}})}}, "compose.mode"},
      {{{"mode", "three-pass"}, {"stages", json::array({{{"adapters", a}}, {{"adapters", a}}})}},
       "compose.mode"},
      {{{"mode", "merged"}}, "compose.stages"},
      {{{"mode", "merged"}, {"stages", json::array({{{"adapters", a}}})}}, "compose.stages"},
      {{{"mode", "merged"}, {"stages", json::array({1, 2})}}, "compose.stages[0]"},
      {{{"mode", "merged"}, {"stages", json::array({{{"adapters", a}}, json::object()})}},
       "compose.stages[1].adapters"},
      {{{"mode", "merged"},
        {"stages",
         json::array({{{"adapters", a}}, {{"adapters", json::array({{{"scale", 1}}})}}})}},
       "compose.stages[1].adapters[0].name"},
      {{{"mode", "merged"},
        {"stages",
         json::array({{{"adapters", a}}, {{"adapters", a}, {"template", json::array()}}})}},
       "compose.stages[1].template"},
      {{{"mode", "merged"},
        {"merge_method", "median"},
        {"stages", json::array({{{"adapters", a}}, {{"adapters", a}}})}},
       "compose.merge_method"},
      {{{"mode", "merged"},
        {"merge_rank", -1},
        {"stages", json::array({{{"adapters", a}}, {{"adapters", a}}})}},
       "compose.merge_rank"},
      // Checked by the service: unknown adapters and templates that drop {output}.
      {{{"mode", "two-pass"},
        {"stages",
         json::array({{{"adapters", a}}, {{"adapters", json::array({{{"name", "nope"}}})}}})}},
       "compose"},
      {{{"mode", "two-pass"},
        {"stages", json::array({{{"adapters", a}}, {{"adapters", a}, {"template", "x"}}})}},
       "compose"},
  };
  for (const Case& c : cases) {
    auto r = Post("/v1/completions", CompletionBody(c.compose));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.compose.dump() << " → " << r->body;
    const json j = BodyJson(r);
    EXPECT_EQ(j["error"]["param"], c.param) << c.compose.dump() << " → " << r->body;
  }
  // With "adapters", or on token ids.
  json both = CompletionBody(Compose("two-pass"));
  both["adapters"] = json::array({{{"name", "a"}}});
  auto r = Post("/v1/completions", both);
  EXPECT_EQ(r->status, 400) << r->body;
  json ids = CompletionBody(Compose("two-pass"));
  ids["prompt"] = json::array({1, 2, 3});
  r = Post("/v1/completions", ids);
  EXPECT_EQ(r->status, 400) << r->body;
  // The server still answers normally.
  auto ok = Post("/v1/completions", CompletionBody(Compose("two-pass")));
  EXPECT_EQ(ok->status, 200);
}

}  // namespace
}  // namespace odlm::testing
