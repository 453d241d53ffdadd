// codi/fake_teacher.h — a scriptable OpenAI-compatible chat endpoint on 127.0.0.1, for tests and
// the benchmark (library odlm_codi_fake_teacher; not part of odlm_codi).
//
// A real httplib::Server on a free loopback port, serving POST /v1/chat/completions. Its replies
// are a deterministic function of the prompt and the request's seed, shaped by the prompt's last
// non-empty line: containing "refus" or "does not tell" -> a refusal ("The document does not tell
// …"); containing "question" -> a question about a word of the document; otherwise -> an answer
// made of words from one sentence of the document (so grounded checks pass). The document is the
// text after a "Document:" line up to the next blank line. Questions show the phenomena of
// codi/phenomena.h the way a teacher would: "And what does it say about X?" (a discourse marker, a
// pronoun) or, when the prompt asks to "leave out words", the elided "And X?"; a plain reply
// ("What does the document say about X?") shows none of them.
//
// Faults: Inject() queues faults that the next requests take in order (one each); FaultEvery()
// makes every k-th request fail (deterministic). Thread-safe; the destructor stops the server.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace odlm::codi {

struct Fault {
  enum Kind {
    kNone,
    kHttp,       // status (5xx, 429, 400 …) with an OpenAI-style error body
    kDelay,      // sleeps delay_s then answers normally (a timeout when it exceeds the client's)
    kGarbage,    // 200 with a body that is not JSON
    kEmpty,      // 200 with content ""
    kNoChoices,  // 200 with {"choices": []}
    kOffTopic,   // 200 with a valid reply that fails every check (unsupported, no '?')
  };
  Kind kind = kNone;
  int status = 500;
  double retry_after_s = -1;  // kHttp: sends Retry-After when >= 0
  double delay_s = 0;
};

class FakeTeacher {
 public:
  FakeTeacher();  // starts listening; CHECK-fails if no loopback port can be bound
  ~FakeTeacher();
  FakeTeacher(const FakeTeacher&) = delete;
  FakeTeacher& operator=(const FakeTeacher&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Inject(const std::vector<Fault>& faults);
  void FaultEvery(int k, Fault f);  // k <= 0 turns it off
  // Among the requests whose prompt contains `marker` (a phenomenon's instruction), every k-th
  // in arrival order gets the plain reply, without any phenomenon; k <= 0 turns it off.
  void OmitPhenomenonEvery(const std::string& marker, int k);
  void SetLatency(double seconds);          // every normal reply waits this long first
  void RequireKey(const std::string& key);  // 401 without "Authorization: Bearer key"

  int requests() const { return requests_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }
  std::vector<std::string> bodies();  // every request body received, in arrival order

  // The reply text for a prompt and seed (what a normal request gets; `plain`: the question form
  // without phenomena).
  static std::string Reply(const std::string& prompt, uint64_t seed, bool plain = false);

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::deque<Fault> queue_;
  int every_ = 0;
  Fault every_fault_;
  double latency_s_ = 0;
  std::string omit_marker_;
  int omit_every_ = 0, marked_ = 0;
  std::string key_;
  std::vector<std::string> bodies_;
  std::atomic<int> requests_{0}, in_flight_{0}, max_in_flight_{0};
};

}  // namespace odlm::codi
