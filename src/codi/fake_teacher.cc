// codi/fake_teacher.cc — scriptable loopback chat endpoint (contract in fake_teacher.h).
#include "codi/fake_teacher.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/ascii.h"
#include "base/check.h"
#include "codi/walk.h"

namespace odlm::codi {

using nlohmann::json;

namespace {

std::string Lower(std::string_view s) { return AsciiLower(s); }

std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> w;
  std::string cur;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) w.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) w.push_back(std::move(cur));
  return w;
}

std::string StripPunct(std::string w) {
  while (!w.empty() && !std::isalnum(static_cast<unsigned char>(w.back()))) w.pop_back();
  while (!w.empty() && !std::isalnum(static_cast<unsigned char>(w.front()))) w.erase(0, 1);
  return w;
}

std::string ChatJson(const std::string& content, const std::string& model, int prompt_chars) {
  json j = {{"id", "chatcmpl-fake"},
            {"object", "chat.completion"},
            {"created", 0},
            {"model", model},
            {"choices", json::array({{{"index", 0},
                                      {"message", {{"role", "assistant"}, {"content", content}}},
                                      {"finish_reason", "stop"}}})},
            {"usage",
             {{"prompt_tokens", prompt_chars / 4},
              {"completion_tokens", static_cast<int>(content.size() / 4 + 1)},
              {"total_tokens", prompt_chars / 4 + static_cast<int>(content.size() / 4 + 1)}}}};
  return j.dump();
}

}  // namespace

std::string FakeTeacher::Reply(const std::string& prompt, uint64_t seed, bool plain) {
  // The document: after a "Document:" line, up to the next blank line.
  std::string doc;
  const size_t d = prompt.find("Document:");
  if (d != std::string::npos) {
    size_t start = prompt.find('\n', d);
    start = start == std::string::npos ? prompt.size() : start + 1;
    size_t end = prompt.find("\n\n", start);
    doc = prompt.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  // The last non-empty line says what to write.
  std::string last;
  size_t end = prompt.size();
  while (end > 0) {
    const size_t nl = prompt.rfind('\n', end - 1);
    const size_t b = nl == std::string::npos ? 0 : nl + 1;
    last = prompt.substr(b, end - b);
    if (last.find_first_not_of(" \t\r") != std::string::npos) break;
    if (nl == std::string::npos) break;
    end = nl;
  }
  last = Lower(last);
  const uint64_t r = Mix64(seed ^ Mix64(prompt.size()));
  if (last.find("refus") != std::string::npos || last.find("does not tell") != std::string::npos) {
    return "The document does not tell us that.";
  }
  const auto words = SplitWords(doc.empty() ? prompt : doc);
  if (last.find("question") != std::string::npos) {
    std::string w;
    for (int k = 0; k < 8 && (w.size() < 4); ++k) w = StripPunct(words[(r + k) % words.size()]);
    if (plain) return "What does the document say about " + Lower(w) + "?";
    // Asked to leave words out (the ellipsis phenomenon): an elided question.
    if (Lower(prompt).find("leave out words") != std::string::npos) return "And " + Lower(w) + "?";
    return "And what does it say about " + Lower(w) + "?";
  }
  // An answer: up to 10 words starting at a seeded position, ending with a period.
  const size_t at = r % words.size();
  std::string a;
  for (size_t k = 0; k < 10 && at + k < words.size(); ++k) {
    if (!a.empty()) a += ' ';
    a += StripPunct(words[at + k]);
  }
  return a + ".";
}

FakeTeacher::FakeTeacher() : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  server_->set_tcp_nodelay(true);
  server_->Post("/v1/chat/completions", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    const int now = ++in_flight_;
    for (int m = max_in_flight_.load(); now > m && !max_in_flight_.compare_exchange_weak(m, now);) {
    }
    ++requests_;
    Fault f;
    double latency;
    std::string key;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      if (!queue_.empty()) {
        f = queue_.front();
        queue_.pop_front();
      } else if (every_ > 0 && requests_.load() % every_ == 0) {
        f = every_fault_;
      }
      latency = latency_s_;
      key = key_;
    }
    auto sleep = [](double s) {
      if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
    };
    auto done = [&] { --in_flight_; };
    if (!key.empty() && req.get_header_value("Authorization") != "Bearer " + key) {
      res.status = 401;
      res.set_content(
          R"({"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}})",
          "application/json");
      return done();
    }
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("messages") || !body["messages"].is_array() ||
        body["messages"].empty()) {
      res.status = 400;
      res.set_content(R"({"error":{"message":"bad request","type":"invalid_request_error"}})",
                      "application/json");
      return done();
    }
    const std::string prompt = body["messages"].back().value("content", std::string());
    const uint64_t seed = body.value("seed", 0ULL);
    const std::string model = body.value("model", std::string("fake"));
    switch (f.kind) {
      case Fault::kHttp:
        res.status = f.status;
        if (f.retry_after_s >= 0) {
          res.set_header("Retry-After", std::to_string(static_cast<int>(f.retry_after_s)));
        }
        res.set_content(R"({"error":{"message":"injected","type":"server_error"}})",
                        "application/json");
        return done();
      case Fault::kGarbage:
        res.set_content("{\"choices\": [ this is not json", "application/json");
        return done();
      case Fault::kEmpty:
        res.set_content(ChatJson("", model, prompt.size()), "application/json");
        return done();
      case Fault::kNoChoices:
        res.set_content(R"({"object":"chat.completion","choices":[]})", "application/json");
        return done();
      case Fault::kOffTopic:
        res.set_content(
            ChatJson("Zebras quietly juggle marmalade underwater", model, prompt.size()),
            "application/json");
        return done();
      case Fault::kDelay:
        sleep(f.delay_s);
        break;
      case Fault::kNone:
        break;
    }
    bool plain = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (omit_every_ > 0 && prompt.find(omit_marker_) != std::string::npos) {
        plain = ++marked_ % omit_every_ == 0;
      }
    }
    sleep(latency);
    res.set_content(ChatJson(Reply(prompt, seed, plain), model, prompt.size()), "application/json");
    done();
  });
  // cpp-httplib 0.11 listens with a backlog of 5: a burst of connecting workers would see SYNs
  // dropped (1 s retransmits). Listen again on the same socket with a real backlog.
  int listen_fd = -1;
  server_->set_socket_options([&listen_fd](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  CHECK(port_ > 0) << "fake teacher: cannot bind a loopback port";
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

FakeTeacher::~FakeTeacher() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void FakeTeacher::Inject(const std::vector<Fault>& faults) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.insert(queue_.end(), faults.begin(), faults.end());
}

void FakeTeacher::FaultEvery(int k, Fault f) {
  std::lock_guard<std::mutex> lock(mu_);
  every_ = k;
  every_fault_ = f;
}

void FakeTeacher::OmitPhenomenonEvery(const std::string& marker, int k) {
  std::lock_guard<std::mutex> lock(mu_);
  omit_marker_ = marker;
  omit_every_ = k;
  marked_ = 0;
}

void FakeTeacher::SetLatency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_s_ = seconds;
}

void FakeTeacher::RequireKey(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  key_ = key;
}

std::vector<std::string> FakeTeacher::bodies() {
  std::lock_guard<std::mutex> lock(mu_);
  return bodies_;
}

}  // namespace odlm::codi
