// world/teacher_test.cc — the world teacher: reading CoDi-style prompts, replies per tag, errors,
// determinism, and the HTTP endpoint on a loopback port.
#include "world/teacher.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "world/teacher_server.h"

namespace odlm::world {
namespace {

using nlohmann::json;

// A prompt laid out as examples/world/grounded_qa_graph.yaml's templates fill it.
std::string Prompt(const std::string& doc, const std::vector<Turn>& history,
                   const std::string& instruction) {
  std::string h;
  for (const Turn& t : history) h += t.role + ": " + t.text + "\n";
  if (h.empty()) h = "(no turns yet)\n";
  h.pop_back();
  return "Document:\n" + doc + "\n\nConversation so far:\n" + h + "\n\n" + instruction +
         "\nWrite only the next turn.";
}

class TeacherTest : public ::testing::Test {
 protected:
  TeacherTest() : teacher_(GenerateWorld({4, 10, 5})) {}
  const Entity& entity(size_t i) const { return teacher_.world().entities[i]; }
  Teacher teacher_;
};

TEST_F(TeacherTest, ParsesDocumentHistoryAndTheLastTag) {
  const ParsedPrompt p = ParsePrompt(
      Prompt("A short text.", {{"USER", "How long is it?"}, {"AGENT", "Twelve metres."}},
             "[ask:numeric] Ask for a number."));
  EXPECT_EQ(p.document, "A short text.");
  ASSERT_EQ(p.history.size(), 2u);
  EXPECT_EQ(p.history[0].role, "USER");
  EXPECT_EQ(p.history[0].text, "How long is it?");
  EXPECT_EQ(p.history[1].text, "Twelve metres.");
  EXPECT_EQ(p.tag, "ask:numeric");
  const ParsedPrompt empty = ParsePrompt(Prompt("Text.", {}, "[answer] Answer it."));
  EXPECT_TRUE(empty.history.empty());
  EXPECT_EQ(empty.tag, "answer");
  EXPECT_EQ(ParsePrompt("[ask:list] then [refuse]").tag, "refuse");
  EXPECT_EQ(ParsePrompt("nothing here").tag, "");
}

TEST_F(TeacherTest, AsksAnswersAndRefuses) {
  for (size_t i = 0; i < teacher_.world().entities.size(); ++i) {
    const Entity& e = entity(i);
    std::vector<Turn> h;
    auto q = teacher_.Reply(Prompt(e.text, h, "[ask:open] Ask a first question."), 1);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    ASSERT_TRUE(MatchQuestion(e, *q).has_value()) << *q;
    h.push_back({"USER", *q});
    auto a = teacher_.Reply(Prompt(e.text, h, "[answer] Answer briefly."), 2);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(*a, AnswerFor(e, *MatchQuestion(e, *q)));
    h.push_back({"AGENT", *a});
    auto u = teacher_.Reply(Prompt(e.text, h, "[ask:unanswerable] Ask what it does not say."), 3);
    ASSERT_TRUE(u.ok());
    EXPECT_FALSE(MatchQuestion(e, *u)->present) << *u;
    h.push_back({"USER", *u});
    EXPECT_EQ(*teacher_.Reply(Prompt(e.text, h, "[answer] Answer."), 4), kRefusal);
    EXPECT_EQ(*teacher_.Reply(Prompt(e.text, h, "[refuse] Say so."), 4), kRefusal);
  }
}

TEST_F(TeacherTest, DeterministicPerRequest) {
  const std::string p = Prompt(entity(3).text, {}, "[ask:yes_no] Ask a yes/no question.");
  EXPECT_EQ(*teacher_.Reply(p, 9), *teacher_.Reply(p, 9));
  std::set<std::string> distinct;
  for (uint64_t s = 0; s < 20; ++s) distinct.insert(*teacher_.Reply(p, s));
  EXPECT_GT(distinct.size(), 3u);
}

TEST_F(TeacherTest, FindsADocumentThatIsNotInItsOwnSection) {
  const Entity& e = entity(2);
  auto q = teacher_.Reply("Read this: " + e.text + "\n[ask:list] Ask for a list.", 0);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE(MatchQuestion(e, *q).has_value());
}

TEST_F(TeacherTest, ErrorsSayWhatIsWrong) {
  const std::string doc = entity(0).text;
  auto no_tag = teacher_.Reply(Prompt(doc, {}, "Ask something."), 0);
  ASSERT_FALSE(no_tag.ok());
  EXPECT_NE(no_tag.status().message().find("[ask:TYPE]"), std::string::npos);
  auto bad_type = teacher_.Reply(Prompt(doc, {}, "[ask:rhetorical] Ask."), 0);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("rhetorical"), std::string::npos);
  auto no_doc = teacher_.Reply(Prompt("Some other text.", {}, "[ask:open] Ask."), 0);
  ASSERT_FALSE(no_doc.ok());
  EXPECT_NE(no_doc.status().message().find("no document of this world"), std::string::npos);
  auto foreign = teacher_.Reply(Prompt(doc, {{"USER", "Why?"}}, "[answer] Answer."), 0);
  ASSERT_FALSE(foreign.ok());
}

TEST_F(TeacherTest, ServesChatCompletionsOverHttp) {
  TeacherServer server(&teacher_, 4);
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  std::thread t([&] { server.Run(); });
  httplib::Client c("127.0.0.1", *port);
  c.set_read_timeout(10, 0);
  std::shared_ptr<httplib::Response> models;
  for (int i = 0; i < 200 && !models; ++i) {
    auto r = c.Get("/v1/models");
    if (r) {
      models = std::make_shared<httplib::Response>(*r);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "odlm-world-teacher");

  const Entity& e = entity(1);
  const json req = {{"model", "teacher-x"},
                    {"seed", 5},
                    {"messages",
                     {{{"role", "system"}, {"content", "You write turns."}},
                      {{"role", "user"}, {"content", Prompt(e.text, {}, "[ask:open] Ask.")}}}}};
  auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["model"], "teacher-x");
  const std::string q = body["choices"][0]["message"]["content"];
  EXPECT_EQ(q, *teacher_.Reply(Prompt(e.text, {}, "[ask:open] Ask."), 5));
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 10);

  auto bad = c.Post("/v1/chat/completions", "{\"messages\": 3}", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto unknown =
      c.Post("/v1/chat/completions",
             json({{"messages", {{{"role", "user"}, {"content", "[ask:open] x"}}}}}).dump(),
             "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(json::parse(unknown->body)["error"]["message"].get<std::string>().find("document"),
            std::string::npos);
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.errors(), 2);
  server.Stop();
  t.join();
}

}  // namespace
}  // namespace odlm::world
