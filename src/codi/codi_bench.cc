// codi_bench — CoDi's own costs (docs/PERFORMANCE.md, "CoDi"):
//   1. per-turn overhead outside the teacher: walk sampling, prompt filling, request JSON, reply
//      parsing, cleaning and checks, record serialization — no network;
//   2. sustained requests/s of the whole pipeline (`RunSynth`: worker pool, HTTP keep-alive,
//      batched fsync'd writer) against a zero-latency fake teacher in this process, at several
//      concurrencies. The fake shares the CPU with the client, so this is a lower bound.
//
//   codi_bench [--conversations N] [--out-dir DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "codi/conversation.h"
#include "codi/fake_teacher.h"
#include "codi/synth.h"
#include "codi/test_util.h"
#include "codi/turn_check.h"

namespace odlm::codi {
namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void TurnOverhead(const Graph& g, const std::vector<Document>& docs) {
  const int conversations = 20000;
  size_t turns = 0, bytes = 0;
  std::vector<std::string> roles;
  for (const auto& [r, _] : g.role_weights) roles.push_back(r);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < conversations; ++i) {
    const Document& doc = docs[DocumentFor(i, docs.size())];
    Conversation c;
    c.index = i;
    c.id = ConversationId(i);
    c.doc_id = doc.id;
    c.walk = SampleWalk(g, 1, i);
    const auto doc_words = DocumentWords(doc.text);
    for (size_t t = 0; t < c.walk.links.size(); ++t) {
      const Link& l = g.links[c.walk.links[t]];
      Turn turn;
      turn.link = c.walk.links[t];
      if (l.source == LinkSource::kDocument) {
        turn.text = doc.text;
      } else {
        ChatRequest req;
        req.user = BuildPrompt(g, doc, c.walk, c.turns, t, 1, i);
        const std::string body = ChatRequestJson(req, "teacher");
        bytes += body.size();
        // The reply a teacher would send, parsed as one.
        const std::string reply_text = FakeTeacher::Reply(req.user, i * 31 + t);
        const std::string reply = R"({"choices":[{"message":{"role":"assistant","content":)" +
                                  nlohmann::json(reply_text).dump() +
                                  R"(}}],"usage":{"prompt_tokens":100,"completion_tokens":10}})";
        const ChatResult r = InterpretReply(200, "", reply);
        turn.text = CleanTurn(r.content, roles);
        turn.support = CheckTurn(g, l, turn.text, doc_words).support;
        turn.attempts = 1;
        ++turns;
      }
      c.turns.push_back(std::move(turn));
    }
    c.ok = true;
    bytes += ConversationLine(c, g, "teacher", 1).size();
  }
  const double secs = Seconds(t0);
  std::printf(
      "per-turn overhead (no network): %zu teacher turns in %.3f s = %.1f us/turn "
      "(%.1f MB of request JSON and records)\n",
      turns, secs, 1e6 * secs / turns, bytes / 1e6);
}

void Throughput(const Graph& g, const std::vector<Document>& docs, uint64_t n,
                const std::string& dir, int concurrency) {
  FakeTeacher fake;
  TeacherOptions t;
  t.urls = {fake.url()};
  t.model = "fake";
  auto pool = std::move(TeacherPool::Create(t)).value();
  SynthOptions o;
  o.out_path = dir + "/bench_c" + std::to_string(concurrency) + ".jsonl";
  std::filesystem::remove(o.out_path);
  o.n = n;
  o.seed = 1;
  o.concurrency = concurrency;
  o.progress_seconds = 0;
  auto s = RunSynth(g, docs, pool.get(), o);
  CHECK(s.ok()) << s.status().ToString();
  const double overhead = s->seconds * concurrency - s->teacher_seconds;
  std::printf(
      "concurrency %3d: %llu conversations, %llu requests in %.2f s = %.0f req/s, %.0f "
      "conv/s; client-side time outside requests %.1f us/request\n",
      concurrency, static_cast<unsigned long long>(s->ok),
      static_cast<unsigned long long>(s->requests), s->seconds, s->requests / s->seconds,
      s->ok / s->seconds, 1e6 * std::max(0.0, overhead) / s->requests);
  std::filesystem::remove(o.out_path);
}

}  // namespace
}  // namespace odlm::codi

int main(int argc, char** argv) {
  uint64_t n = 2000;
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--conversations")) n = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--out-dir")) dir = argv[i + 1];
  }
  const odlm::codi::Graph g = odlm::codi::testing::QaGraph();
  const auto docs = odlm::codi::testing::TestDocs();
  odlm::codi::TurnOverhead(g, docs);
  for (int c : {1, 8, 32}) odlm::codi::Throughput(g, docs, n, dir, c);
  return 0;
}
