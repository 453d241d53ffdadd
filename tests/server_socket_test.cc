// End-to-end tests of `odlm serve --socket`: a real server process listening on a Unix socket in
// the test's temp directory, driven by a raw HTTP/1.1 client over that socket. Also: a
// non-streaming request whose client hangs up is cancelled (over loopback TCP).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "server/sse.h"
#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

struct RawResponse {
  int status = -1;  // -1: no HTTP response (connection refused, closed early)
  std::string head;
  std::string body;  // de-chunked
};

// Decodes a chunked body; returns what it could when it is cut short.
std::string Dechunk(const std::string& s) {
  std::string out;
  size_t at = 0;
  while (at < s.size()) {
    const size_t eol = s.find("\r\n", at);
    if (eol == std::string::npos) break;
    const size_t n = std::stoul(s.substr(at, eol - at), nullptr, 16);
    if (n == 0 || eol + 2 + n > s.size()) break;
    out.append(s, eol + 2, n);
    at = eol + 2 + n + 2;
  }
  return out;
}

// One request over the Unix socket at `path` (Connection: close; reads to EOF, 30 s at most).
RawResponse UnixHttp(const std::string& path, const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& key = "") {
  RawResponse r;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!key.empty()) req += "Authorization: Bearer " + key + "\r\n";
  if (!body.empty()) {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string all;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.head = all.substr(0, end);
  r.body = all.substr(end + 4);
  if (r.head.find("Transfer-Encoding: chunked") != std::string::npos) r.body = Dechunk(r.body);
  return r;
}

std::string Chat(const std::string& content, int max_tokens, bool stream = false) {
  return json{{"messages", json::array({{{"role", "user"}, {"content", content}}})},
              {"max_tokens", max_tokens},
              {"seed", 5},
              {"stream", stream}}
      .dump();
}

// `odlm serve ARGS` with only a Unix socket (no --host/--port); waits for its "listening" line.
std::unique_ptr<Spawned> StartSocketServer(const std::vector<std::string>& args) {
  std::vector<std::string> all = {OdlmBinary(), "serve"};
  all.insert(all.end(), args.begin(), args.end());
  auto p = std::make_unique<Spawned>(all);
  const std::string out = p->ReadOut(20, "\n");
  EXPECT_NE(out.find("listening on unix:"), std::string::npos) << out << p->err();
  return p;
}

mode_t FileMode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

class ServerSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = GenerateSmallModel(dir_.path());
    sock_ = dir_.path() + "/odlm.sock";
  }
  TempDir dir_;
  std::string model_, sock_;
};

TEST_F(ServerSocketTest, ServesChatAndStreamsOnlyOnTheSocket) {
  auto server = StartSocketServer({"-m", model_, "--socket", sock_, "--threads", "2"});
  ASSERT_TRUE(S_ISSOCK(FileMode(sock_)));
  EXPECT_EQ(FileMode(sock_) & 0777, 0600u);  // only the service's own uid is allowed
  EXPECT_EQ(server->out().find("http://"), std::string::npos) << "no TCP listener expected";

  const RawResponse r = UnixHttp(sock_, "POST", "/v1/chat/completions", Chat("Hello.", 5));
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);

  const RawResponse s = UnixHttp(sock_, "POST", "/v1/chat/completions", Chat("Hello.", 5, true));
  ASSERT_EQ(s.status, 200) << s.head;
  EXPECT_NE(s.head.find("text/event-stream"), std::string::npos);
  server::SseParser parser;
  std::vector<std::string> events = parser.Feed(s.body);
  ASSERT_GE(events.size(), 2u) << s.body;
  EXPECT_EQ(events.back(), "[DONE]");
  std::string streamed;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json e = json::parse(events[i], nullptr, false);
    ASSERT_TRUE(e.is_object()) << events[i];
    if (e["choices"][0]["delta"].contains("content")) {
      streamed += e["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  // Same seed, same prompt: the stream carries the same text as the plain answer.
  EXPECT_EQ(streamed, j["choices"][0]["message"]["content"].get<std::string>());

  // SIGTERM: exit 0 and the socket file is gone.
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(30), 0) << server->err();
  EXPECT_EQ(FileMode(sock_), 0u);
}

TEST_F(ServerSocketTest, RefusesAUidNotOnTheList) {
  const uid_t other = ::getuid() + 4242;
  auto server = StartSocketServer(
      {"-m", model_, "--socket", sock_, "--allow-uid", std::to_string(other), "--threads", "2"});
  EXPECT_EQ(FileMode(sock_) & 0777, 0660u);  // other uids allowed: group may connect
  const RawResponse r = UnixHttp(sock_, "POST", "/v1/chat/completions", Chat("Hello.", 3));
  EXPECT_EQ(r.status, 403) << r.head << r.body;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["code"], "uid_not_allowed");
  // A peer retrying in a loop is refused every time but logged once per 10 s.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(UnixHttp(sock_, "GET", "/health").status, 403);
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(30), 0);
  const std::string line = "refused a connection from uid " + std::to_string(::getuid());
  const std::string& err = server->err();
  size_t lines = 0;
  for (size_t at = err.find(line); at != std::string::npos; at = err.find(line, at + 1)) ++lines;
  EXPECT_GE(lines, 1u) << err;
  EXPECT_LE(lines, 3u) << "22 refusals within seconds must not log a line each:\n" << err;
}

TEST_F(ServerSocketTest, KeysStillApplyAndTcpServesAlongside) {
  const std::string keys = dir_.path() + "/keys.json";
  const std::string key = AddApp(keys, "notes");
  ASSERT_FALSE(key.empty());
  ServerProcess server;  // loopback TCP (port 0) and the socket
  ASSERT_TRUE(server.Start({"-m", model_, "--keys", keys, "--socket", sock_, "--allow-uid",
                            std::to_string(::getuid()), "--threads", "2"}));
  EXPECT_EQ(UnixHttp(sock_, "POST", "/v1/chat/completions", Chat("Hi.", 2)).status, 401);
  EXPECT_EQ(UnixHttp(sock_, "POST", "/v1/chat/completions", Chat("Hi.", 2), "odlm-wrong").status,
            401);
  EXPECT_EQ(UnixHttp(sock_, "POST", "/v1/chat/completions", Chat("Hi.", 2), key).status, 200);
  // A context made over the socket is the same app's over TCP.
  const RawResponse made = UnixHttp(sock_, "POST", "/v1/contexts", R"({"system":"x"})", key);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string id = json::parse(made.body)["id"];
  auto tcp = server.Client(key);
  auto got = tcp.Get("/v1/contexts/" + id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
}

TEST_F(ServerSocketTest, ReplacesAStaleSocketButNotALiveOneOrAFile) {
  {  // A socket file nobody listens on, as a crashed server leaves it.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
    ASSERT_TRUE(S_ISSOCK(FileMode(sock_)));
  }
  auto server = StartSocketServer({"-m", model_, "--socket", sock_, "--threads", "2"});
  EXPECT_EQ(UnixHttp(sock_, "GET", "/health").status, 200);

  // A second server on the live socket refuses to start and leaves it alone.
  const ProcessResult second = RunOdlm("serve -m '" + model_ + "' --socket '" + sock_ + "'");
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("another server is listening"), std::string::npos) << second.err;
  EXPECT_EQ(UnixHttp(sock_, "GET", "/health").status, 200);

  // A regular file in the way is never deleted.
  const std::string file = dir_.path() + "/plain";
  ASSERT_TRUE(std::fopen(file.c_str(), "w") != nullptr);
  const ProcessResult third = RunOdlm("serve -m '" + model_ + "' --socket '" + file + "'");
  EXPECT_NE(third.exit_code, 0);
  EXPECT_NE(third.err.find("not a socket"), std::string::npos) << third.err;
  EXPECT_TRUE(S_ISREG(FileMode(file)));
}

// The value of an unlabelled metric in /metrics, or -1.
double Metric(ServerProcess& server, const std::string& name) {
  auto r = server.Client().Get("/metrics");
  if (!r) return -1;
  const size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1.0 : std::stod(r->body.substr(at + name.size() + 2));
}

TEST(ServerDisconnectTest, NonStreamingRequestIsCancelledWhenTheClientHangsUp) {
  TempDir dir;
  // Big enough that 4000 tokens take seconds (a few ms each), small enough to make quickly.
  const std::string model = dir.path() + "/mid.gguf";
  const ProcessResult gen = RunOdlm("gen-model -o '" + model +
                                    "' --dim 256 --layers 4 --heads 4 --kv-heads 2 --ffn 768 "
                                    "--vocab 512 --type q8_0 --seed 7 --ctx 4096");
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model, "--threads", "2"}));
  const double cancelled_before = Metric(server, "odlm_generations_cancelled_total");
  ASSERT_GE(cancelled_before, 0);
  {
    auto c = server.Client();
    c.set_read_timeout(0, 300 * 1000);  // gives up (closes the connection) after 0.3 s
    const std::string body = json{
        {"messages", json::array({{{"role", "user"}, {"content", "Go on."}}})},
        {"max_tokens", 4000},
        {"ignore_eos", true}}.dump();
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    EXPECT_FALSE(r) << "expected the client to time out, got a response";
  }
  double cancelled = cancelled_before;
  for (int i = 0; i < 200 && cancelled <= cancelled_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancelled = Metric(server, "odlm_generations_cancelled_total");
  }
  EXPECT_EQ(cancelled, cancelled_before + 1);
  // It stopped early (the full answer is 4000 tokens) and the service keeps serving.
  const double generated = Metric(server, "odlm_completion_tokens_total");
  EXPECT_GT(generated, 0);
  EXPECT_LT(generated, 4000);
  auto ok =
      server.Client().Post("/v1/chat/completions", Chat("Still there?", 4), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

}  // namespace
}  // namespace odlm::testing
