#include "server/requests.h"

#include <gtest/gtest.h>

namespace odlm::server {
namespace {

const RequestLimits kLimits;

template <typename T>
T Ok(const ParseResult<T>& r) {
  if (const auto* e = std::get_if<ApiError>(&r)) {
    ADD_FAILURE() << "unexpected error: " << e->message;
    return T{};
  }
  return std::get<T>(r);
}

template <typename T>
ApiError Err(const ParseResult<T>& r) {
  EXPECT_TRUE(std::holds_alternative<ApiError>(r));
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError{};
}

TEST(ChatRequestTest, FullRequest) {
  const auto r = Ok(ParseChatCompletion(
      R"({"model":"m","messages":[{"role":"system","content":"Be brief."},
          {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
          "temperature":0.5,"top_p":0.9,"max_tokens":7,"stop":["\n","END"],"seed":42,
          "stream":true,"stream_options":{"include_usage":true},"n":1,"user":"ignored"})",
      kLimits));
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_FLOAT_EQ(r.params.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.params.top_p, 0.9f);
  EXPECT_EQ(r.params.max_tokens, 7);
  EXPECT_EQ(r.params.stop, (std::vector<std::string>{"\n", "END"}));
  ASSERT_TRUE(r.params.seed.has_value());
  EXPECT_EQ(*r.params.seed, 42u);
  EXPECT_TRUE(r.params.stream);
  EXPECT_TRUE(r.params.include_usage);
  EXPECT_FALSE(r.params.ignore_eos);
}

TEST(ChatRequestTest, ContextMessagesCarryAGroundingDocument) {
  const auto r = Ok(ParseChatCompletion(
      R"({"messages":[{"role":"context","content":"The mill was built in 1820."},
          {"role":"user","content":"When was it built?"}]})",
      kLimits));
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "context");
  EXPECT_EQ(r.messages[0].content, "The mill was built in 1820.");
  const ApiError e =
      Err(ParseChatCompletion(R"({"messages":[{"role":"document","content":"x"}]})", kLimits));
  EXPECT_EQ(e.param, "messages[0].role");
  EXPECT_NE(e.message.find("\"context\""), std::string::npos) << e.message;
}

TEST(ChatRequestTest, Defaults) {
  const auto r =
      Ok(ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}]})", kLimits));
  EXPECT_EQ(r.params.max_tokens, kLimits.default_max_tokens);
  EXPECT_FLOAT_EQ(r.params.temperature, 1.0f);
  EXPECT_FALSE(r.params.stream);
  EXPECT_FALSE(r.params.seed.has_value());
  EXPECT_TRUE(r.params.stop.empty());
  EXPECT_TRUE(r.params.chat_reply);  // its leading whitespace is not sent
}

TEST(ChatRequestTest, StopAsString) {
  const auto r = Ok(
      ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],"stop":"###"})", kLimits));
  EXPECT_EQ(r.params.stop, std::vector<std::string>{"###"});
}

TEST(ChatRequestTest, MalformedAndWrongTypes) {
  EXPECT_EQ(Err(ParseChatCompletion("", kLimits)).code, "invalid_json");
  const ApiError bad = Err(ParseChatCompletion(R"({"messages": [)", kLimits));
  EXPECT_EQ(bad.code, "invalid_json");
  EXPECT_NE(bad.message.find("byte"), std::string::npos);
  EXPECT_EQ(Err(ParseChatCompletion("[1,2]", kLimits)).code, "invalid_json");
  EXPECT_EQ(Err(ParseChatCompletion("{}", kLimits)).param, "messages");
  EXPECT_EQ(Err(ParseChatCompletion(R"({"messages":"hi"})", kLimits)).param, "messages");
  EXPECT_EQ(Err(ParseChatCompletion(R"({"messages":[]})", kLimits)).param, "messages");
  EXPECT_EQ(Err(ParseChatCompletion(R"({"messages":[{"role":"user"}]})", kLimits)).param,
            "messages[0].content");
  EXPECT_EQ(
      Err(ParseChatCompletion(R"({"messages":[{"role":"wizard","content":"x"}]})", kLimits)).param,
      "messages[0].role");
  EXPECT_EQ(
      Err(ParseChatCompletion(R"({"messages":[{"role":"user","content":5}]})", kLimits)).param,
      "messages[0].content");
  EXPECT_EQ(
      Err(ParseChatCompletion(R"({"model":3,"messages":[{"role":"user","content":"x"}]})", kLimits))
          .param,
      "model");
}

TEST(ChatRequestTest, OutOfRange) {
  auto with = [](const std::string& extra) {
    return Err(ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],)" + extra + "}",
                                   kLimits));
  };
  EXPECT_EQ(with(R"("temperature":2.5)").param, "temperature");
  EXPECT_EQ(with(R"("temperature":-1)").param, "temperature");
  EXPECT_EQ(with(R"("temperature":"hot")").code, "invalid_type");
  EXPECT_EQ(with(R"("top_p":0)").param, "top_p");
  EXPECT_EQ(with(R"("top_p":1.5)").param, "top_p");
  EXPECT_EQ(with(R"("max_tokens":0)").param, "max_tokens");
  EXPECT_EQ(with(R"("max_tokens":1e9)").param, "max_tokens");
  EXPECT_EQ(with(R"("max_tokens":100000)").param, "max_tokens");
  EXPECT_EQ(with(R"("stop":["a","b","c","d","e"])").param, "stop");
  EXPECT_EQ(with(R"("stop":[""])").param, "stop");
  EXPECT_EQ(with(R"("stop":5)").param, "stop");
  EXPECT_EQ(with(R"("seed":1.5)").param, "seed");
  EXPECT_EQ(with(R"("stream":"yes")").param, "stream");
  EXPECT_EQ(with(R"("n":3)").param, "n");
  EXPECT_EQ(with(R"("tools":[{"type":"function"}])").param, "tools");
  EXPECT_EQ(with(R"("logprobs":true)").param, "logprobs");
  EXPECT_EQ(with(R"("stream_options":{"include_usage":1})").param, "stream_options.include_usage");
}

TEST(CompletionRequestTest, PromptForms) {
  const auto a = Ok(ParseCompletion(R"({"prompt":"Once","max_tokens":3})", kLimits));
  EXPECT_EQ(std::get<std::string>(a.prompt), "Once");
  EXPECT_EQ(a.params.max_tokens, 3);
  const auto b = Ok(ParseCompletion(R"({"prompt":["Once"]})", kLimits));
  EXPECT_EQ(std::get<std::string>(b.prompt), "Once");
  const auto c = Ok(ParseCompletion(R"({"prompt":[1,2,3]})", kLimits));
  EXPECT_EQ(std::get<std::vector<int32_t>>(c.prompt), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(Err(ParseCompletion(R"({"prompt":["a","b"]})", kLimits)).code, "unsupported");
  EXPECT_EQ(Err(ParseCompletion(R"({"prompt":[1,-2]})", kLimits)).param, "prompt");
  EXPECT_EQ(Err(ParseCompletion(R"({"prompt":{}})", kLimits)).param, "prompt");
  EXPECT_EQ(Err(ParseCompletion(R"({})", kLimits)).param, "prompt");
  EXPECT_EQ(Err(ParseCompletion(R"({"prompt":"x","echo":true})", kLimits)).param, "echo");
  const auto d = Ok(ParseCompletion(R"({"prompt":"x","echo":false,"stream":true})", kLimits));
  EXPECT_TRUE(d.params.stream);
  EXPECT_FALSE(d.params.chat_reply);  // a completion is sent as generated
}

TEST(ContextRequestTest, CreateAndMessage) {
  EXPECT_EQ(Ok(ParseCreateContext(R"({"system":"You are terse."})")).system, "You are terse.");
  EXPECT_EQ(Ok(ParseCreateContext("")).system, "");
  EXPECT_EQ(Ok(ParseCreateContext("{}")).system, "");
  EXPECT_EQ(Err(ParseCreateContext(R"({"system":1})")).param, "system");
  const auto doc = Ok(ParseCreateContext(R"({"system":"Be brief.","context":"The mill is old."})"));
  EXPECT_EQ(doc.system, "Be brief.");
  EXPECT_EQ(doc.context, "The mill is old.");
  EXPECT_EQ(Ok(ParseCreateContext("{}")).context, "");
  EXPECT_EQ(Err(ParseCreateContext(R"({"context":["a"]})")).param, "context");
  const auto m = Ok(ParseContextMessage(
      R"({"content":"hello","max_tokens":5,"temperature":0,"stream":true})", kLimits));
  EXPECT_EQ(m.content, "hello");
  EXPECT_EQ(m.params.max_tokens, 5);
  EXPECT_FLOAT_EQ(m.params.temperature, 0.0f);
  EXPECT_TRUE(m.params.stream);
  EXPECT_TRUE(m.params.chat_reply);
  EXPECT_EQ(Err(ParseContextMessage(R"({"max_tokens":5})", kLimits)).param, "content");
  EXPECT_EQ(Err(ParseContextMessage(R"({"content":["x"]})", kLimits)).param, "content");
}

TEST(RequestFuzzTest, ArbitraryBytesNeverCrash) {
  // Cheap deterministic fuzz: truncations and byte flips of a valid body all give a result.
  const std::string valid =
      R"({"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stop":["x"],"seed":1})";
  uint32_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::string body = valid.substr(0, (i * 7) % (valid.size() + 1));
    if (i % 2 == 1) {
      body = valid;
      state = state * 1664525u + 1013904223u;
      body[state % body.size()] = static_cast<char>(state >> 24);
    }
    auto r = ParseChatCompletion(body, kLimits);
    if (auto* e = std::get_if<ApiError>(&r)) {
      EXPECT_EQ(e->http_status, 400);
    }
  }
}

TEST(AdapterRequestTest, ParsesNamesAndScales) {
  const auto r = Ok(ParseChatCompletion(
      R"({"messages":[{"role":"user","content":"x"}],
          "adapters":[{"name":"a","scale":0.5},{"name":"b"}]})",
      kLimits));
  ASSERT_TRUE(r.params.adapters.has_value());
  ASSERT_EQ(r.params.adapters->size(), 2u);
  EXPECT_EQ((*r.params.adapters)[0].name, "a");
  EXPECT_FLOAT_EQ(*(*r.params.adapters)[0].scale, 0.5f);
  EXPECT_EQ((*r.params.adapters)[1].name, "b");
  EXPECT_FALSE((*r.params.adapters)[1].scale.has_value());
  // Absent: nullopt; empty list: the base model, explicitly.
  EXPECT_FALSE(Ok(ParseCompletion(R"({"prompt":"x"})", kLimits)).params.adapters.has_value());
  const auto empty = Ok(ParseContextMessage(R"({"content":"x","adapters":[]})", kLimits));
  ASSERT_TRUE(empty.params.adapters.has_value());
  EXPECT_TRUE(empty.params.adapters->empty());
}

TEST(AdapterRequestTest, RejectsBadAdapters) {
  auto err = [](const std::string& adapters) {
    return Err(ParseCompletion(R"({"prompt":"x","adapters":)" + adapters + "}", kLimits));
  };
  EXPECT_EQ(err(R"("a")").param, "adapters");
  EXPECT_EQ(err(R"([1])").param, "adapters[0]");
  EXPECT_EQ(err(R"([{"scale":1}])").param, "adapters[0].name");
  EXPECT_EQ(err(R"([{"name":""}])").param, "adapters[0].name");
  EXPECT_EQ(err(R"([{"name":"a","scale":"1"}])").param, "adapters[0].scale");
  EXPECT_EQ(err(R"([{"name":"a","scale":1e9}])").param, "adapters[0].scale");
  EXPECT_EQ(err(R"([{"name":"a","scale":-17}])").param, "adapters[0].scale");
  EXPECT_EQ(err(R"([{"name":"a"},{"name":"a"}])").param, "adapters[1].name");
  EXPECT_EQ(err(R"([{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"},{"name":"e"},
                    {"name":"f"},{"name":"g"},{"name":"h"},{"name":"i"}])")
                .param,
            "adapters");
}

TEST(ComposeRequestTest, ParsesStagesTemplatesAndMergeSettings) {
  const auto r = Ok(ParseCompletion(
      R"({"prompt":"x","compose":{"mode":"merged","merge_method":"ties","merge_rank":4,
          "stages":[{"adapters":[{"name":"sum"}]},
                    {"adapters":[{"name":"fr","scale":0.5},{"name":"tone"}],
                     "template":"French: {output}"},
                    {"adapters":[]}]}})",
      kLimits));
  ASSERT_TRUE(r.params.compose.has_value());
  const ComposeParam& c = *r.params.compose;
  EXPECT_TRUE(c.merged);
  EXPECT_EQ(c.merge_method, "ties");
  EXPECT_EQ(c.merge_rank, 4);
  ASSERT_EQ(c.stages.size(), 3u);
  EXPECT_EQ(c.stages[0].adapters[0].name, "sum");
  EXPECT_EQ(c.stages[0].prompt_template, "");
  ASSERT_EQ(c.stages[1].adapters.size(), 2u);
  EXPECT_FLOAT_EQ(*c.stages[1].adapters[0].scale, 0.5f);
  EXPECT_EQ(c.stages[1].prompt_template, "French: {output}");
  EXPECT_TRUE(c.stages[2].adapters.empty());
  const auto chat = Ok(ParseChatCompletion(
      R"({"messages":[{"role":"user","content":"x"}],"compose":{"mode":"two-pass",
          "stages":[{"adapters":[]},{"adapters":[]}]}})",
      kLimits));
  ASSERT_TRUE(chat.params.compose.has_value());
  EXPECT_FALSE(chat.params.compose->merged);
  EXPECT_EQ(chat.params.compose->merge_method, "linear");
  EXPECT_FALSE(Ok(ParseCompletion(R"({"prompt":"x"})", kLimits)).params.compose.has_value());
}

TEST(ComposeRequestTest, RejectsMalformedCompose) {
  auto err = [](const std::string& compose, const std::string& extra = "") {
    return Err(
        ParseCompletion(R"({"prompt":"x")" + extra + R"(,"compose":)" + compose + "}", kLimits));
  };
  const std::string two = R"("stages":[{"adapters":[]},{"adapters":[]}])";
  EXPECT_EQ(err(R"("two-pass")").param, "compose");
  EXPECT_EQ(err("{" + two + "}").param, "compose.mode");
  EXPECT_EQ(err(R"({"mode":"parallel",)" + two + "}").param, "compose.mode");
  EXPECT_EQ(err(R"({"mode":"merged"})").param, "compose.stages");
  EXPECT_EQ(err(R"({"mode":"merged","stages":{}})").param, "compose.stages");
  EXPECT_EQ(err(R"({"mode":"merged","stages":[{"adapters":[]}]})").param, "compose.stages");
  EXPECT_EQ(err(R"({"mode":"merged","stages":[{},{},{},{},{}]})").param, "compose.stages");
  EXPECT_EQ(err(R"({"mode":"merged","stages":[{"adapters":[]},7]})").param, "compose.stages[1]");
  EXPECT_EQ(err(R"({"mode":"merged","stages":[{"adapters":[]},{}]})").param,
            "compose.stages[1].adapters");
  EXPECT_EQ(err(R"({"mode":"merged","stages":[{"adapters":[]},{"adapters":[{"name":1}]}]})").param,
            "compose.stages[1].adapters[0].name");
  EXPECT_EQ(
      err(R"({"mode":"merged","stages":[{"adapters":[]},{"adapters":[],"template":3}]})").param,
      "compose.stages[1].template");
  EXPECT_EQ(err(R"({"mode":"merged","stages":[{"adapters":[]},{"adapters":[],"template":")" +
                std::string(kMaxComposeTemplateBytes + 1, 'x') + R"("}]})")
                .param,
            "compose.stages[1].template");
  EXPECT_EQ(err(R"({"mode":"merged","merge_method":"avg",)" + two + "}").param,
            "compose.merge_method");
  EXPECT_EQ(err(R"({"mode":"merged","merge_rank":1.5,)" + two + "}").param, "compose.merge_rank");
  // Not together with "adapters".
  EXPECT_EQ(err(R"({"mode":"merged",)" + two + "}", R"(,"adapters":[])").param, "adapters");
  // Nor on a context message.
  EXPECT_EQ(Err(ParseContextMessage(R"({"content":"x","compose":{"mode":"merged",)" + two + "}}",
                                    kLimits))
                .param,
            "compose");
}

TEST(AdapterRequestTest, RegisterAdapterBody) {
  const auto r = Ok(ParseRegisterAdapter(R"({"name":"sum","path":"/a/b.gguf","scale":0.5})"));
  EXPECT_EQ(r.name, "sum");
  EXPECT_EQ(r.path, "/a/b.gguf");
  EXPECT_FLOAT_EQ(r.scale, 0.5f);
  EXPECT_EQ(Err(ParseRegisterAdapter(R"({"path":"x"})")).param, "name");
  EXPECT_EQ(Err(ParseRegisterAdapter(R"({"name":"a/b","path":"x"})")).param, "name");
  EXPECT_EQ(Err(ParseRegisterAdapter(R"({"name":"a"})")).param, "path");
  EXPECT_EQ(Err(ParseRegisterAdapter(R"({"name":"a","path":"x","scale":99})")).param, "scale");
}

TEST(AdapterRequestTest, ReplaceAdapterBody) {
  const auto r = Ok(ParseReplaceAdapter(R"({"path":"/a/b.gguf","scale":0.5})", "sum"));
  EXPECT_EQ(r.name, "sum");  // from the route
  EXPECT_EQ(r.path, "/a/b.gguf");
  EXPECT_FLOAT_EQ(r.scale, 0.5f);
  EXPECT_FLOAT_EQ(Ok(ParseReplaceAdapter(R"({"path":"p"})", "sum")).scale, 1.0f);
  EXPECT_EQ(Ok(ParseReplaceAdapter(R"({"name":"sum","path":"p"})", "sum")).name, "sum");
  EXPECT_EQ(Err(ParseReplaceAdapter(R"({"name":"other","path":"p"})", "sum")).param, "name");
  EXPECT_EQ(Err(ParseReplaceAdapter(R"({})", "sum")).param, "path");
  EXPECT_EQ(Err(ParseReplaceAdapter(R"({"path":""})", "sum")).param, "path");
  EXPECT_EQ(Err(ParseReplaceAdapter(R"({"path":"p","scale":-17})", "sum")).param, "scale");
  EXPECT_EQ(Err(ParseReplaceAdapter("[1]", "sum")).http_status, 400);
}

// Issue 16 (2): a value nested 400,000 levels deep fits in a 1 MB body; printing it into an error
// message recursed once per level and overflowed the stack. Refused before parsing now.
TEST(RequestHardeningTest, DeeplyNestedValuesAreRefusedWithoutRecursion) {
  const std::string deep = std::string(400000, '[') + std::string(400000, ']');
  const std::string chat_n = R"({"messages":[{"role":"user","content":"x"}],"n":)" + deep + "}";
  const std::string rank = R"({"prompt":"x","compose":{"mode":"merged","merge_rank":)" + deep +
                           R"(,"stages":[{"adapters":[]},{"adapters":[]}]}})";
  for (const ApiError& e :
       {Err(ParseChatCompletion(chat_n, kLimits)), Err(ParseCompletion(rank, kLimits)),
        Err(ParseContextMessage(R"({"content":"x","seed":)" + deep + "}", kLimits)),
        Err(ParseCreateContext(deep)), Err(ParseRegisterAdapter(deep))}) {
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(e.code, "invalid_json");
    EXPECT_NE(e.message.find("deeper than 64 levels"), std::string::npos) << e.message;
    EXPECT_LT(e.message.size(), 200u);
  }
  // 64 levels are fine (and a wrong type there is named without printing the value).
  const std::string ok = std::string(63, '[') + std::string(63, ']');
  const ApiError e = Err(ParseChatCompletion(
      R"({"messages":[{"role":"user","content":"x"}],"n":)" + ok + "}", kLimits));
  EXPECT_EQ(e.code, "unsupported");
  EXPECT_EQ(e.message, "only 'n': 1 is supported, got an array");
}

// Issue 16 (6): a number beyond a double's range threw json::out_of_range, which only a 500
// caught. It is malformed JSON like any other: 400 invalid_json.
TEST(RequestHardeningTest, OutOfRangeNumberIsInvalidJson) {
  for (const std::string body :
       {R"({"messages":[{"role":"user","content":"x"}],"temperature":1e999})",
        R"({"messages":[{"role":"user","content":"x"}],"unknown":[1, -1e999]})",
        R"({"messages":[{"role":"user","content":"x"}],"n":1e400})"}) {
    const ApiError e = Err(ParseChatCompletion(body, kLimits));
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(e.code, "invalid_json");
    EXPECT_NE(e.message.find("out of the range of a double"), std::string::npos) << e.message;
  }
  EXPECT_EQ(Err(ParseCompletion(R"({"prompt":"x","seed":1e999})", kLimits)).code, "invalid_json");
  EXPECT_EQ(Err(ParseContextMessage(R"({"content":"x","top_p":-1e999})", kLimits)).code,
            "invalid_json");
}

// Messages quote at most 40 bytes of what the client sent.
TEST(RequestHardeningTest, ErrorMessagesQuoteBoundedValues) {
  const std::string big(1 << 20, 'r');
  const ApiError role = Err(
      ParseChatCompletion(R"({"messages":[{"role":")" + big + R"(","content":"x"}]})", kLimits));
  EXPECT_EQ(role.param, "messages[0].role");
  EXPECT_LT(role.message.size(), 200u);
  const ApiError name = Err(ParseRegisterAdapter(R"({"name":")" + big + R"(","path":"p"})"));
  EXPECT_LT(name.message.size(), 200u);
  const ApiError adapter = Err(ParseChatCompletion(
      R"({"messages":[{"role":"user","content":"x"}],"adapters":[{"name":")" + big + R"("}]})",
      kLimits));
  EXPECT_EQ(adapter.code, "out_of_range");
  EXPECT_LT(adapter.message.size(), 200u);
}

}  // namespace
}  // namespace odlm::server
