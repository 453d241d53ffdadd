// codi/teacher.cc — OpenAI-compatible chat calls over cpp-httplib (contract in teacher.h).
#include "codi/teacher.h"

#include <httplib.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/check.h"

namespace odlm::codi {

using nlohmann::json;

Status ParseTeacherUrl(const std::string& url, std::string* base, std::string* path) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return InvalidArgumentError("teacher URL '" + url +
                                "': expected http://host:port or https://host[:port][/prefix]");
  }
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return InvalidArgumentError("teacher URL '" + url + "': scheme '" + scheme +
                                "' (expected http or https)");
  }
  const size_t host_start = scheme_end + 3;
  const size_t slash = url.find('/', host_start);
  const std::string hostport =
      url.substr(host_start, slash == std::string::npos ? std::string::npos : slash - host_start);
  if (hostport.empty()) return InvalidArgumentError("teacher URL '" + url + "': no host");
  const size_t colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    const std::string port = hostport.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
      return InvalidArgumentError("teacher URL '" + url + "': bad port '" + port + "'");
    }
  }
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.size() >= 3 && prefix.compare(prefix.size() - 3, 3, "/v1") == 0) {
    prefix.resize(prefix.size() - 3);
  }
  if (prefix.size() >= 20 && prefix.compare(prefix.size() - 20, 20, "/v1/chat/completions") == 0) {
    prefix.resize(prefix.size() - 20);
  }
  *base = scheme + "://" + hostport;
  *path = prefix + "/v1/chat/completions";
  return Status::Ok();
}

std::string ChatRequestJson(const ChatRequest& r, const std::string& model) {
  json messages = json::array();
  if (!r.messages.empty()) {
    for (const auto& m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  } else {
    if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
    messages.push_back({{"role", "user"}, {"content", r.user}});
  }
  json body = {{"model", model},
               {"messages", std::move(messages)},
               {"max_tokens", r.max_tokens},
               {"temperature", r.temperature},
               {"top_p", r.top_p},
               // Keep the seed within 2^31 - 1: some servers read it as a 32-bit int.
               {"seed", static_cast<int64_t>(r.seed & 0x7fffffffULL)},
               {"stream", false}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

ChatResult InterpretReply(int status, const std::string& retry_after, const std::string& body) {
  ChatResult r;
  auto snippet = [&] { return body.substr(0, 200); };
  if (status != 200) {
    r.reason = "http_" + std::to_string(status);
    r.retryable = status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
    if (!retry_after.empty()) {
      char* end = nullptr;
      const double v = std::strtod(retry_after.c_str(), &end);
      if (end != retry_after.c_str() && std::isfinite(v) && v >= 0) r.retry_after_s = v;
    }
    r.detail = "HTTP " + std::to_string(status) + ": " + snippet();
    return r;
  }
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.reason = "bad_json";
    r.retryable = true;
    r.detail = "reply is not a JSON object: " + snippet();
    return r;
  }
  const json* content = nullptr;
  if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty() &&
      j["choices"][0].is_object() && j["choices"][0].contains("message") &&
      j["choices"][0]["message"].is_object() && j["choices"][0]["message"].contains("content")) {
    content = &j["choices"][0]["message"]["content"];
  }
  if (content == nullptr || !content->is_string()) {
    r.reason = content == nullptr ? "bad_json" : "no_content";
    r.retryable = true;
    r.detail = "reply has no choices[0].message.content string: " + snippet();
    return r;
  }
  r.content = content->get<std::string>();
  if (j.contains("usage") && j["usage"].is_object()) {
    const json& u = j["usage"];
    if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) {
      r.prompt_tokens = u["prompt_tokens"].get<int>();
    }
    if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer()) {
      r.completion_tokens = u["completion_tokens"].get<int>();
    }
  }
  r.ok = true;
  return r;
}

StatusOr<std::unique_ptr<TeacherPool>> TeacherPool::Create(TeacherOptions options) {
  if (options.urls.empty()) return InvalidArgumentError("no teacher URL (--teacher URL)");
  if (options.model.empty()) return InvalidArgumentError("no teacher model name (--model NAME)");
  if (options.breaker.failures_to_open < 1 || !(options.breaker.cooldown_s >= 0)) {
    return InvalidArgumentError("circuit breaker: need failures_to_open >= 1 and cooldown_s >= 0");
  }
  std::unique_ptr<TeacherPool> pool(new TeacherPool(options));
  for (const auto& u : options.urls) {
    auto e = std::make_unique<Endpoint>();
    e->url = u;
    RETURN_IF_ERROR(ParseTeacherUrl(u, &e->base, &e->path));
    e->breaker = CircuitBreaker(options.breaker);
    pool->endpoints_.push_back(std::move(e));
  }
  return pool;
}

double TeacherPool::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

TeacherPool::Lease TeacherPool::Acquire(int avoid) {
  std::lock_guard<std::mutex> lock(mu_);
  const double now = Now();
  const size_t n = endpoints_.size();
  const size_t start = round_robin_++ % n;
  // Admitted and not `avoid`, then admitted, then any but `avoid`, then any.
  int best = -1;
  bool admitted = true;
  for (int pass = 0; pass < 4 && best < 0; ++pass) {
    admitted = pass < 2;
    const bool skip_avoid = pass % 2 == 0;
    for (size_t k = 0; k < n; ++k) {
      const int i = static_cast<int>((start + k) % n);
      const Endpoint& e = *endpoints_[i];
      if (skip_avoid && i == avoid) continue;
      if (admitted && e.breaker.Peek(now) == CircuitBreaker::Admission::kNo) continue;
      if (best < 0 || e.outstanding < endpoints_[best]->outstanding) best = i;
    }
  }
  CHECK(best >= 0);
  Endpoint& e = *endpoints_[best];
  ++e.outstanding;
  ++e.requests;
  return {best, admitted ? e.breaker.Admit(now) : CircuitBreaker::Admission::kNo};
}

void TeacherPool::Release(const Lease& lease, bool failed, bool health_failure,
                          double retry_after_s) {
  std::lock_guard<std::mutex> lock(mu_);
  Endpoint& e = *endpoints_[lease.endpoint];
  --e.outstanding;
  e.failures += failed;
  const double now = Now();
  if (health_failure) {
    e.breaker.RecordFailure(lease.how, now);
  } else {
    e.breaker.RecordSuccess(lease.how);
  }
  if (retry_after_s >= 0) e.breaker.Defer(now, retry_after_s);
}

bool TeacherPool::OtherAdmitted(int except) {
  std::lock_guard<std::mutex> lock(mu_);
  const double now = Now();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (static_cast<int>(i) != except &&
        endpoints_[i]->breaker.Peek(now) != CircuitBreaker::Admission::kNo) {
      return true;
    }
  }
  return false;
}

std::vector<EndpointStats> TeacherPool::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  const double now = Now();
  std::vector<EndpointStats> out;
  for (const auto& e : endpoints_) {
    out.push_back(
        {e->url, e->requests, e->failures, e->breaker.times_opened(), e->breaker.state(now)});
  }
  return out;
}

void TeacherPool::WaitForRateSlot() {
  if (options_.max_requests_per_s <= 0) return;
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / options_.max_requests_per_s));
  std::chrono::steady_clock::time_point slot;
  {
    std::lock_guard<std::mutex> lock(rate_mu_);
    const auto now = std::chrono::steady_clock::now();
    slot = std::max(now, next_slot_);
    next_slot_ = slot + interval;
  }
  std::this_thread::sleep_until(slot);
}

TeacherSession::TeacherSession(TeacherPool* pool) : pool_(pool), clients_(pool->size()) {}
TeacherSession::~TeacherSession() = default;

ChatResult TeacherSession::Call(const ChatRequest& request, int avoid) {
  pool_->WaitForRateSlot();
  const TeacherPool::Lease lease = pool_->Acquire(avoid);
  const int e = lease.endpoint;
  const auto& ep = pool_->endpoint(e);
  auto& client = clients_[e];
  const auto& o = pool_->options();
  if (!client) {
    client = std::make_unique<httplib::Client>(ep.base);
    const auto secs = [](double s) {
      return std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::duration<double>(s));
    };
    client->set_connection_timeout(secs(o.connect_timeout_s));
    client->set_read_timeout(secs(o.request_timeout_s));
    client->set_write_timeout(secs(o.request_timeout_s));
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // small requests: no Nagle / delayed-ACK stalls
    if (!o.api_key.empty()) client->set_bearer_token_auth(o.api_key.c_str());
  }
  const std::string body = ChatRequestJson(request, o.model);
  const auto t0 = std::chrono::steady_clock::now();
  auto res = client->Post(ep.path.c_str(), body, "application/json");
  ChatResult r;
  if (!res) {
    const httplib::Error err = res.error();
    r.reason = (err == httplib::Error::Read || err == httplib::Error::ConnectionTimeout)
                   ? "timeout"
                   : "connection";
    r.retryable = true;
    r.detail = ep.url + ": " + httplib::to_string(err);
    // A broken keep-alive connection is not reused.
    client.reset();
  } else {
    r = InterpretReply(res->status, res->get_header_value("Retry-After"), res->body);
    if (!r.ok) r.detail = ep.url + ": " + r.detail;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.endpoint = e;
  pool_->Release(lease, !r.ok, !r.ok && r.retryable, r.retry_after_s);
  // The Retry-After holds back this endpoint only; the caller need not wait when another can take
  // the retry.
  if (r.retry_after_s >= 0 && pool_->OtherAdmitted(e)) r.retry_after_s = -1;
  return r;
}

}  // namespace odlm::codi
