// `odlm codi synth` as a real process against a pool of three loopback teachers (in this test
// process), one of which dies (stops listening) or hangs (answers after the client's timeout)
// part-way through the run: every conversation still completes, none is recorded as failed, the
// records equal a run against one healthy teacher, the broken replica's circuit opens exactly once
// (its cool-down outlasts the run, so no probe goes) and its failed requests stay within what the
// breaker lets through before it opens; the summary reports each endpoint's figures.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include "codi/fake_teacher.h"
#include "codi/test_util.h"
#include "tests/support/subprocess.h"

namespace odlm {
namespace {

using nlohmann::json;
using odlm::testing::OdlmBinary;
using odlm::testing::RunProcess;
using odlm::testing::Spawned;
namespace ct = odlm::codi::testing;

enum class Breakage { kDies, kHangs };

struct EndpointLine {
  uint64_t requests = 0, failures = 0;
  int opened = 0;
  std::string state;
};

// The summary's per-endpoint lines ("  teacher URL: R requests, F failed, circuit opened K
// time(s), now STATE"), by URL.
std::map<std::string, EndpointLine> EndpointLines(const std::string& err) {
  static const std::regex re(
      R"(teacher (\S+): (\d+) requests, (\d+) failed, circuit opened (\d+) times?, now (\S+))");
  std::map<std::string, EndpointLine> out;
  for (std::sregex_iterator it(err.begin(), err.end(), re), end; it != end; ++it) {
    const auto& m = *it;
    out[m[1]] = {std::stoull(m[2]), std::stoull(m[3]), std::stoi(m[4]), m[5]};
  }
  return out;
}

class CodiTeacherPoolTest : public ::testing::TestWithParam<Breakage> {
 protected:
  void SetUp() override {
    graph_ = dir_.file("graph.json");
    std::ofstream(graph_) << ct::QaGraphJson().dump(1);
    docs_ = dir_.file("docs.jsonl");
    ct::WriteDocsFile(docs_, ct::TestDocs());
  }
  std::vector<std::string> Synth(const std::vector<std::string>& urls, const std::string& out,
                                 std::vector<std::string> extra) {
    std::vector<std::string> a = {
        OdlmBinary(), "codi",         "synth", "--graph",    graph_, "--docs",           docs_,
        "--model",    "fake-t",       "--out", out,          "-n",   std::to_string(kN), "--seed",
        "5",          "--retry-base", "0.01",  "--progress", "0"};
    for (const auto& u : urls) a.insert(a.end(), {"--teacher", u});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static constexpr int kN = 300;
  ct::TempDir dir_;
  std::string graph_, docs_;
};

TEST_P(CodiTeacherPoolTest, ABrokenReplicaCostsRetriesNotConversations) {
  const bool hangs = GetParam() == Breakage::kHangs;
  std::vector<std::unique_ptr<codi::FakeTeacher>> teachers;
  std::vector<std::string> urls;
  for (int i = 0; i < 3; ++i) {
    teachers.push_back(std::make_unique<codi::FakeTeacher>());
    urls.push_back(teachers.back()->url());
  }
  // The reference: the same run against one healthy teacher.
  auto ref = RunProcess(Synth({urls[0]}, dir_.file("ref.jsonl"), {}), "", 120);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;

  const int ref_requests = teachers[0]->requests();
  for (auto& t : teachers) t->SetLatency(0.002);
  // A hung replica holds the requests it gets outstanding, so least-outstanding routing already
  // sends it few (how few depends on timing): there one timeout opens its circuit, so that the
  // opening does not depend on how many it gets before the run ends.
  const int concurrency = 6, breaker_failures = hangs ? 1 : 3;
  const std::string out = dir_.file("pool.jsonl");
  Spawned p(Synth(urls, out,
                  {"--concurrency", std::to_string(concurrency), "--batch-lines", "3",
                   "--breaker-failures", std::to_string(breaker_failures), "--breaker-cooldown",
                   "3600", "--timeout", hangs ? "2" : "60"}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ct::Lines(ct::ReadAll(out)).size() < kN / 4 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const size_t at_break = ct::Lines(ct::ReadAll(out)).size();
  const int live_before = teachers[0]->requests() + teachers[2]->requests();
  if (hangs) {
    teachers[1]->SetLatency(4);  // every later request outlasts the client's 2 s timeout
  } else {
    teachers[1].reset();  // stops listening: connections are refused
  }
  ASSERT_EQ(p.Wait(300), 0) << p.err();
  ASSERT_GE(at_break, static_cast<size_t>(kN / 4));
  ASSERT_LT(at_break, static_cast<size_t>(kN)) << "the run finished before the replica broke";
  std::cout << p.err();

  // Every conversation, none failed, each once; the same conversations as the reference.
  const auto lines = ct::Lines(ct::ReadAll(out));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kN));
  std::set<std::string> ids;
  for (const auto& l : lines) {
    const json j = json::parse(l);
    EXPECT_EQ(j["status"], "ok") << l.substr(0, 300);
    EXPECT_TRUE(ids.insert(j["id"].get<std::string>()).second);
  }
  EXPECT_EQ(ct::RecordsById(out, /*strip_attempts=*/true),
            ct::RecordsById(dir_.file("ref.jsonl"), true));
  EXPECT_NE(p.err().find(std::to_string(kN) + " ok, 0 failed"), std::string::npos) << p.err();

  // The per-endpoint figures.
  const auto figures = EndpointLines(p.err());
  ASSERT_EQ(figures.size(), 3u) << p.err();
  const EndpointLine& broken = figures.at(urls[1]);
  EXPECT_EQ(broken.opened, 1);
  EXPECT_EQ(broken.state, "open");
  EXPECT_GE(broken.failures, static_cast<uint64_t>(breaker_failures));
  // Before the circuit opens, each failure follows the last success or the start of the count,
  // and a success can only come from a request sent before the break (one per worker): at most
  // breaker_failures per such run of failures, plus the requests in flight when it opened.
  EXPECT_LE(broken.failures,
            static_cast<uint64_t>(breaker_failures * (concurrency + 1) + concurrency));
  for (int i : {0, 2}) {
    const EndpointLine& e = figures.at(urls[i]);
    EXPECT_EQ(e.failures, 0u) << urls[i];
    EXPECT_EQ(e.opened, 0) << urls[i];
    EXPECT_EQ(e.state, "closed") << urls[i];
    EXPECT_EQ(e.requests, static_cast<uint64_t>(teachers[i]->requests() - (i == 0) * ref_requests))
        << urls[i];
  }
  // The healthy replicas took the rest of the run: many more requests than the broken one failed.
  const int live_after = teachers[0]->requests() + teachers[2]->requests() - live_before;
  EXPECT_GT(static_cast<uint64_t>(live_after), 5 * broken.failures);
}

INSTANTIATE_TEST_SUITE_P(Breakages, CodiTeacherPoolTest,
                         ::testing::Values(Breakage::kDies, Breakage::kHangs),
                         [](const ::testing::TestParamInfo<Breakage>& info) {
                           return info.param == Breakage::kDies ? "Dies" : "Hangs";
                         });

}  // namespace
}  // namespace odlm
