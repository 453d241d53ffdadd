// Tests of link execution: prompts filled from the document, history, instruction, phenomenon and
// seeds; retries through injected faults (5xx, 429 with Retry-After, garbage, empty, off-topic,
// timeouts); giving up with the reason recorded; documents file errors.
#include "codi/conversation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "codi/fake_teacher.h"
#include "codi/stats.h"
#include "codi/test_util.h"

namespace odlm::codi {
namespace {

using nlohmann::json;

class ConversationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = testing::QaGraph();
    TeacherOptions o;
    o.urls = {fake_.url()};
    o.model = "fake-teacher";
    o.request_timeout_s = 0.3;
    pool_ = std::move(TeacherPool::Create(o)).value();
    session_ = std::make_unique<TeacherSession>(pool_.get());
    retry_.max_attempts = 4;
    retry_.base_s = 0.005;
  }
  Conversation Run(uint64_t index, const std::atomic<bool>* stop = nullptr) {
    return RunConversation(graph_, docs_[index % docs_.size()], 7, index, session_.get(), retry_,
                           stop);
  }
  FakeTeacher fake_;
  Graph graph_;
  std::vector<Document> docs_ = testing::TestDocs();
  std::unique_ptr<TeacherPool> pool_;
  std::unique_ptr<TeacherSession> session_;
  RetryPolicy retry_;
};

TEST_F(ConversationTest, FollowsTheWalkAndFillsPrompts) {
  for (uint64_t i = 0; i < 12; ++i) {
    const Conversation c = Run(i);
    ASSERT_TRUE(c.ok) << c.reason << ": " << c.detail;
    ASSERT_EQ(c.turns.size(), c.walk.links.size());
    EXPECT_EQ(c.turns[0].text, docs_[i % 3].text);  // the CONTEXT turn is the document
    EXPECT_EQ(c.turns[0].attempts, 0);
    for (size_t t = 0; t < c.turns.size(); ++t) {
      EXPECT_EQ(c.turns[t].link, c.walk.links[t]);
      EXPECT_EQ(c.turns[t].phenomenon, PhenomenonName(graph_, c.walk, t));
      const Link& l = graph_.links[c.turns[t].link];
      if (l.check == LinkCheck::kGrounded) {
        EXPECT_GE(c.turns[t].support, 0.8);
      }
    }
    EXPECT_EQ(c.requests, static_cast<int>(c.turns.size()) - 1);
  }
  // The prompt of a later turn holds the document, the history so far, the instruction, the
  // chosen phenomenon's text and two distinct seed examples.
  // The first conversation with a second question that shows a phenomenon.
  Conversation c;
  size_t t = 0;
  uint64_t index = 0;
  for (; index < 100 && t == 0; ++index) {
    const Walk w = SampleWalk(graph_, 7, index);
    for (size_t k = 2; k < w.links.size() && t == 0; ++k) {
      if (graph_.links[w.links[k]].name == "q" && w.phenomena[k] >= 0) t = k;
    }
    if (t) c = Run(index);
  }
  --index;
  ASSERT_GT(t, 0u);
  ASSERT_TRUE(c.ok);
  const Document& doc = docs_[index % 3];
  std::vector<Turn> done(c.turns.begin(), c.turns.begin() + t);
  const std::string p = BuildPrompt(graph_, doc, c.walk, done, t, 7, index);
  EXPECT_NE(p.find(doc.text), std::string::npos);
  EXPECT_NE(p.find("USER: " + c.turns[1].text + "\nAGENT: " + c.turns[2].text), std::string::npos);
  EXPECT_EQ(p.find("CONTEXT: "), std::string::npos);  // the document is not repeated as history
  EXPECT_NE(p.find("Ask about the document."), std::string::npos);
  int seeds = 0;
  for (const auto& s : graph_.links[graph_.LinkId("q")].seeds) seeds += p.find("- " + s) != p.npos;
  EXPECT_EQ(seeds, 2);
  const std::string ph = PhenomenonName(graph_, c.walk, t);
  ASSERT_FALSE(ph.empty());
  EXPECT_NE(p.find(graph_.phenomena.at(ph)), std::string::npos);
  // The request the teacher got for that turn is exactly this prompt.
  bool sent = false;
  for (const auto& b : fake_.bodies()) sent |= json::parse(b)["messages"].back()["content"] == p;
  EXPECT_TRUE(sent);
  // The first question sees "(no turns yet)".
  EXPECT_NE(BuildPrompt(graph_, doc, c.walk, {c.turns[0]}, 1, 7, index).find("(no turns yet)"),
            std::string::npos);
}

TEST_F(ConversationTest, SameSeedSameConversation) {
  const Conversation a = Run(5), b = Run(5);
  ASSERT_TRUE(a.ok && b.ok);
  for (size_t t = 0; t < a.turns.size(); ++t) EXPECT_EQ(a.turns[t].text, b.turns[t].text);
}

TEST_F(ConversationTest, RetriesThroughFaultsAndHonoursRetryAfter) {
  fake_.Inject({{Fault::kHttp, 503},
                {Fault::kHttp, 429, 1},
                {Fault::kGarbage},
                {Fault::kEmpty},
                {Fault::kOffTopic},
                {Fault::kNoChoices},
                {Fault::kDelay, 0, -1, 0.6}});
  retry_.max_attempts = 8;
  const auto t0 = std::chrono::steady_clock::now();
  const Conversation c = Run(1);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(c.ok) << c.reason << ": " << c.detail;
  EXPECT_EQ(c.requests, static_cast<int>(c.turns.size()) - 1 + 7);
  EXPECT_GE(secs, 1.0);               // the 429 asked for 1 s
  EXPECT_EQ(c.turns[1].attempts, 8);  // the 7 faults all hit the first teacher turn
  // Transport faults retry with the same sampling seed; each invalid reply (the empty and the
  // off-topic one) moves to the next: 3 seeds over the first turn's 8 requests.
  std::set<uint64_t> seeds;
  const auto bodies = fake_.bodies();
  for (size_t i = 0; i < 8; ++i) seeds.insert(json::parse(bodies[i])["seed"].get<uint64_t>());
  EXPECT_EQ(seeds.size(), 3u);
}

// A teacher that leaves out the asked-for discourse marker in every second reply: without
// phenomenon retries exactly that half is recorded unverified (and stats reports it); with one
// retry each miss is asked again and every turn shows it.
TEST_F(ConversationTest, PhenomenaAreVerifiedAndRetried) {
  json j = testing::QaGraphJson();
  j["phenomena"]["discourse_marker"] = "Start with a connective such as And or So.";
  j["links"]["q"]["phenomena"] = {{"discourse_marker", 1.0}};
  auto g = ParseGraph(j);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  graph_ = std::move(g).value();
  testing::TempDir dir;
  for (int attempts : {1, 2}) {
    fake_.OmitPhenomenonEvery("Start with a connective", 2);
    retry_.phenomenon_attempts = attempts;
    const std::string path = dir.file("convs" + std::to_string(attempts) + ".jsonl");
    std::ofstream out(path);
    int asked = 0, shown = 0, requests = 0;
    for (uint64_t i = 0; i < 12; ++i) {
      const Conversation c = Run(i);
      ASSERT_TRUE(c.ok) << c.reason << ": " << c.detail;
      requests += c.requests;
      for (const Turn& t : c.turns) {
        if (t.phenomenon != "discourse_marker") continue;
        ++asked;
        ASSERT_GE(t.phenomenon_verified, 0);
        shown += t.phenomenon_verified;
        EXPECT_EQ(t.text.rfind(t.phenomenon_verified ? "And " : "What does the document", 0), 0u)
            << t.text;
      }
      out << ConversationLine(c, graph_, "fake-teacher", 7);
    }
    out.close();
    ASSERT_GE(asked, 12);
    if (attempts == 1) {
      EXPECT_EQ(shown, asked - asked / 2);  // the 2nd, 4th, … marked request was plain
    } else {
      EXPECT_EQ(shown, asked);
      EXPECT_GT(requests, asked);  // the misses were asked again
    }
    auto stats = ComputeStats(path, &graph_);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    const json& ph = (*stats)["phenomena"]["discourse_marker"];
    EXPECT_EQ(ph["count"], asked);
    EXPECT_EQ(ph["checked"], asked);
    EXPECT_EQ(ph["verified"], shown);
    EXPECT_NEAR(ph["verified_rate"].get<double>(), double(shown) / asked, 1e-4);
    EXPECT_NE(FormatStats(*stats).find("checked shown"), std::string::npos);
  }
}

TEST_F(ConversationTest, TransportFaultsDoNotChangeTheConversation) {
  const Conversation clean = Run(4);
  ASSERT_TRUE(clean.ok);
  fake_.Inject({{Fault::kHttp, 502},
                {Fault::kGarbage},
                {Fault::kHttp, 429},
                {Fault::kNoChoices},
                {Fault::kDelay, 0, -1, 0.5}});
  retry_.max_attempts = 6;
  const Conversation c = Run(4);
  ASSERT_TRUE(c.ok) << c.detail;
  EXPECT_EQ(c.requests, clean.requests + 5);
  ASSERT_EQ(clean.turns.size(), c.turns.size());
  for (size_t t = 0; t < c.turns.size(); ++t) EXPECT_EQ(clean.turns[t].text, c.turns[t].text);
}

TEST_F(ConversationTest, GivesUpWithTheReason) {
  fake_.FaultEvery(1, {Fault::kHttp, 500});
  Conversation c = Run(0);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.reason, "http_500");
  EXPECT_EQ(c.requests, retry_.max_attempts);
  EXPECT_NE(c.detail.find("failed 4 times"), std::string::npos) << c.detail;
  EXPECT_EQ(c.turns.size(), 1u);  // the CONTEXT turn was done
  const json j = ConversationToJson(c, graph_, "fake-teacher", 7);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["reason"], "http_500");
  EXPECT_EQ(j["walk"].size(), c.walk.links.size());

  // A non-retryable error gives up at once.
  fake_.FaultEvery(1, {Fault::kHttp, 404});
  const int before = fake_.requests();
  c = Run(0);
  EXPECT_EQ(c.reason, "http_404");
  EXPECT_EQ(fake_.requests() - before, 1);

  // Output that never passes the checks.
  fake_.FaultEvery(1, {Fault::kOffTopic});
  c = Run(0);
  EXPECT_EQ(c.reason, "not_question");  // the first teacher turn is a question
  EXPECT_NE(c.detail.find("Zebras"), std::string::npos);

  // Timeouts every time.
  fake_.FaultEvery(1, {Fault::kDelay, 0, -1, 0.5});
  retry_.max_attempts = 2;
  c = Run(0);
  EXPECT_EQ(c.reason, "timeout");
}

TEST_F(ConversationTest, StopInterrupts) {
  std::atomic<bool> stop{true};
  const Conversation c = Run(0, &stop);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.reason, "interrupted");
}

TEST_F(ConversationTest, RecordShape) {
  const Conversation c = Run(2);
  ASSERT_TRUE(c.ok);
  const json j = json::parse(ConversationLine(c, graph_, "fake-teacher", 7));
  EXPECT_EQ(j["id"], "c00000002");
  EXPECT_EQ(j["index"], 2);
  EXPECT_EQ(j["doc_id"], "d2");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["teacher_model"], "fake-teacher");
  EXPECT_EQ(j["seed"], 7);
  ASSERT_EQ(j["turns"].size(), j["walk"].size());
  EXPECT_EQ(j["phenomena"].size(), j["walk"].size());
  EXPECT_EQ(j["turns"][0]["role"], "CONTEXT");
  EXPECT_EQ(j["turns"][0]["weight"], 0);
  EXPECT_EQ(j["turns"][1]["role"], "USER");
  EXPECT_DOUBLE_EQ(j["turns"][1]["weight"].get<double>(), 0.1);
  EXPECT_EQ(j["turns"][2]["role"], "AGENT");
  EXPECT_EQ(j["turns"][2]["weight"], 1);
  EXPECT_TRUE(j["timing"].contains("wall_ms"));
  EXPECT_GT(j["timing"]["completion_tokens"].get<int>(), 0);
}

}  // namespace
}  // namespace odlm::codi
