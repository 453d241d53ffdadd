// End-to-end tests of adapters going live in a running `odlm serve`: --adapters-dir (a real
// server process following a directory: new, replaced, corrupt and deleted adapter files) and
// PUT /v1/adapters/{name}. A small generated model and random adapters made for it, written the
// way `odlm train lora --out` writes them (temp file, then rename).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "adapters/lora_adapter.h"
#include "adapters/lora_random.h"
#include "gguf/gguf_writer.h"
#include "odlm/engine.h"
#include "tests/support/generated_model.h"
#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A random rank-4 adapter on every projection (adapters/lora_random.h), strong enough to change
// the greedy output of the generated model, written as a GGUF adapter file; `seed` picks which.
Status WriteRandomAdapter(const LoraBaseShape& base, uint32_t seed, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<LoraAdapter> a, RandomLoraAdapter(base, 4, seed, 0.5f));
  GgufWriter w;
  RETURN_IF_ERROR(a->ToGguf(&w));
  return w.WriteFile(path);
}

// Puts `src` at dir/name crash-safely, as odlm train does: a temp name in dir, then rename.
void Install(const std::string& src, const std::string& dir, const std::string& name) {
  const std::string tmp = dir + "/." + name + ".tmp";
  fs::copy_file(src, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, dir + "/" + name);
}

bool WaitFor(const std::function<bool()>& done, double seconds = 30) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// `odlm serve` with its stderr captured (ServerProcess leaves it to the test's log), so that
// tests can check what it logged. Killed by the destructor.
class LoggedServer {
 public:
  bool Start(const std::vector<std::string>& args) {
    std::vector<std::string> all = {OdlmBinary(), "serve", "--host", "127.0.0.1", "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    child_ = std::make_unique<Spawned>(all, /*capture_stderr=*/true);
    const std::string out = child_->ReadOut(30, "\n");
    const size_t at = out.find("127.0.0.1:");
    if (out.find('\n') == std::string::npos || at == std::string::npos) {
      ADD_FAILURE() << "odlm serve did not start: " << out << child_->err();
      return false;
    }
    port_ = std::stoi(out.substr(at + 10));
    return port_ > 0;
  }
  // Everything it has written to stderr so far (reading it also keeps the pipe from filling).
  std::string Log() {
    child_->ReadOut(0.02);
    return child_->err();
  }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

 private:
  std::unique_ptr<Spawned> child_;
  int port_ = 0;
};

json CompletionBody(const json& adapters, int max_tokens = 12) {
  json body = {{"prompt", "Once upon a time"},
               {"max_tokens", max_tokens},
               {"temperature", 0},
               {"ignore_eos", true}};
  if (!adapters.is_null()) body["adapters"] = adapters;
  return body;
}

json Named(const std::string& name) { return json::array({{{"name", name}}}); }

// Greedy completion text (fails the test on a non-200 answer).
std::string Complete(httplib::Client& c, const json& adapters) {
  auto r = c.Post("/v1/completions", CompletionBody(adapters).dump(), "application/json");
  EXPECT_TRUE(r);
  if (!r) return "";
  EXPECT_EQ(r->status, 200) << r->body;
  const json j = BodyJson(r);
  return j.is_object() && j.contains("choices") ? j["choices"][0]["text"].get<std::string>() : "";
}

int CompletionStatus(httplib::Client& c, const json& adapters) {
  auto r = c.Post("/v1/completions", CompletionBody(adapters, 2).dump(), "application/json");
  return r ? r->status : -1;
}

// name → path of the registered adapters.
std::map<std::string, std::string> Listed(httplib::Client& c) {
  std::map<std::string, std::string> out;
  const json j = BodyJson(c.Get("/v1/adapters"));
  if (!j.is_object() || !j.contains("data")) return out;
  for (const json& a : j["data"]) out[a["name"]] = a["path"];
  return out;
}

// The value of a metric line `name value` (-1 if absent).
double Metric(httplib::Client& c, const std::string& name) {
  auto r = c.Get("/metrics");
  if (!r) return -1;
  const std::string key = "\n" + name + " ";
  const size_t at = r->body.find(key);
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + key.size()));
}

class ServerAdaptersDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = work_.path() + "/model.gguf";
    ASSERT_TRUE(WriteSmallGeneratedModel(model_, 11).ok());
    EngineOptions eo;
    eo.model_path = model_;
    eo.n_threads = 1;
    auto engine = Engine::Open(eo);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const LoraBaseShape base = (*engine)->model().LoraBase();
    a_ = work_.path() + "/a.gguf";
    b_ = work_.path() + "/b.gguf";
    ASSERT_TRUE(WriteRandomAdapter(base, 1, a_).ok());
    ASSERT_TRUE(WriteRandomAdapter(base, 2, b_).ok());
    // Broken files: the first half of a good adapter; an adapter made for another model.
    truncated_ = work_.path() + "/truncated.gguf";
    {
      std::ifstream in(a_, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::ofstream(truncated_, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    LoraBaseShape other = base;
    for (auto& c : other.cols) c *= 2;
    other_model_ = work_.path() + "/other-model.gguf";
    ASSERT_TRUE(WriteRandomAdapter(other, 3, other_model_).ok());
    dir_ = adapters_.path();
  }
  std::vector<std::string> Args(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"-m", model_, "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  TempDir work_, adapters_;
  std::string model_, a_, b_, truncated_, other_model_, dir_;
};

TEST_F(ServerAdaptersDirTest, NewReplacedBrokenAndDeletedFilesGoLive) {
  LoggedServer server;
  ASSERT_TRUE(server.Start(Args({"--adapters-dir", dir_, "--adapters-dir-poll-ms", "100"})));
  auto c = server.Client();
  EXPECT_TRUE(Listed(c).empty());
  const std::string base = Complete(c, nullptr);
  ASSERT_FALSE(base.empty());
  EXPECT_EQ(CompletionStatus(c, Named("myapp")), 400);

  // A new adapter: registered under its file's stem, and used by requests naming it.
  Install(a_, dir_, "myapp.gguf");
  ASSERT_TRUE(WaitFor([&] { return Listed(c).count("myapp") == 1; })) << server.Log();
  EXPECT_EQ(Listed(c)["myapp"], dir_ + "/myapp.gguf");
  const std::string with_a = Complete(c, Named("myapp"));
  EXPECT_NE(with_a, base) << "the adapter did not change the greedy output";
  EXPECT_EQ(Complete(c, nullptr), base);

  // A retrained version replaces it under the same name.
  Install(b_, dir_, "myapp.gguf");
  ASSERT_TRUE(WaitFor([&] { return Metric(c, "odlm_adapter_dir_loads_total") >= 2; }))
      << server.Log();
  const std::string with_b = Complete(c, Named("myapp"));
  EXPECT_NE(with_b, with_a) << "the replaced adapter still computes like the old one";
  EXPECT_NE(with_b, base);

  // A broken version is reported once and the good one stays in force.
  Install(truncated_, dir_, "myapp.gguf");
  ASSERT_TRUE(WaitFor([&] { return Metric(c, "odlm_adapter_dir_load_errors_total") >= 1; }))
      << server.Log();
  EXPECT_EQ(Complete(c, Named("myapp")), with_b);
  // New broken files: a truncated one and one made for another model. Nothing is registered
  // for them, each is logged once with its reason, and the server keeps serving.
  Install(truncated_, dir_, "corrupt.gguf");
  Install(other_model_, dir_, "wrongbase.gguf");
  ASSERT_TRUE(WaitFor([&] { return Metric(c, "odlm_adapter_dir_load_errors_total") >= 3; }))
      << server.Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // several more passes
  EXPECT_EQ(Metric(c, "odlm_adapter_dir_load_errors_total"), 3);
  const std::string log = server.Log();
  EXPECT_EQ(Count(log, "cannot load adapter 'myapp'"), 1u) << log;
  EXPECT_EQ(Count(log, "cannot load adapter 'corrupt'"), 1u) << log;
  EXPECT_EQ(Count(log, "cannot load adapter 'wrongbase'"), 1u) << log;
  EXPECT_EQ(Listed(c).size(), 1u);
  EXPECT_EQ(CompletionStatus(c, Named("corrupt")), 400);
  EXPECT_EQ(Complete(c, Named("myapp")), with_b);
  EXPECT_EQ(c.Get("/health")->status, 200);

  // Fixed again, then deleted: unregistered, and requests naming it get 400.
  Install(a_, dir_, "myapp.gguf");
  ASSERT_TRUE(WaitFor([&] { return Metric(c, "odlm_adapter_dir_loads_total") >= 3; }))
      << server.Log();
  EXPECT_EQ(Complete(c, Named("myapp")), with_a);
  fs::remove(dir_ + "/myapp.gguf");
  ASSERT_TRUE(WaitFor([&] { return Listed(c).count("myapp") == 0; })) << server.Log();
  auto r = c.Post("/v1/completions", CompletionBody(Named("myapp")).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("myapp"), std::string::npos) << r->body;
  EXPECT_EQ(Complete(c, nullptr), base);
  EXPECT_EQ(Metric(c, "odlm_adapter_dir_adapters"), 0);
}

TEST_F(ServerAdaptersDirTest, RegistersWhatIsThereAtStartAndLoraNamesWin) {
  Install(a_, dir_, "notes.gguf");
  Install(b_, dir_, "extra.gguf");
  fs::copy_file(a_, dir_ + "/.hidden.gguf");
  fs::copy_file(a_, dir_ + "/partial.gguf.tmp");
  LoggedServer server;
  ASSERT_TRUE(server.Start(
      Args({"--lora", "notes=" + b_, "--adapters-dir", dir_, "--adapters-dir-poll-ms", "100"})));
  auto c = server.Client();
  // Registered before the server answered its first request.
  auto listed = Listed(c);
  ASSERT_EQ(listed.size(), 2u) << server.Log();
  EXPECT_EQ(listed["notes"], b_);  // --lora's, not the directory's
  EXPECT_EQ(listed["extra"], dir_ + "/extra.gguf");
  EXPECT_EQ(Complete(c, Named("notes")), Complete(c, Named("extra")));  // both are b
  // The clash is logged once; the directory's file changing does not unseat --lora's adapter,
  // and deleting it does not unregister it.
  Install(a_, dir_, "notes.gguf");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  fs::remove(dir_ + "/notes.gguf");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Listed(c)["notes"], b_);
  EXPECT_EQ(Count(server.Log(), "is registered with --lora"), 1u) << server.Log();
}

TEST_F(ServerAdaptersDirTest, PutNeedsAdapterAdmin) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(Args({})));
  auto c = server.Client();
  auto r = c.Put("/v1/adapters/myapp", json({{"path", a_}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << r->body;
  EXPECT_EQ(BodyJson(r)["error"]["code"], "adapter_admin_disabled");
  EXPECT_TRUE(Listed(c).empty());
}

TEST_F(ServerAdaptersDirTest, PutCreatesAndReplacesWithoutAWindow) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(Args({"--allow-adapter-admin"})));
  auto c = server.Client();
  const std::string base = Complete(c, nullptr);
  auto r =
      c.Put("/v1/adapters/myapp", json({{"path", a_}, {"scale", 1.0}}).dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(BodyJson(r)["replaced"], false);
  EXPECT_EQ(BodyJson(r)["path"], a_);
  const std::string with_a = Complete(c, Named("myapp"));
  EXPECT_NE(with_a, base);
  // POST on the name is a conflict; PUT swaps in the new version.
  EXPECT_EQ(
      c.Post("/v1/adapters", json({{"name", "myapp"}, {"path", b_}}).dump(), "application/json")
          ->status,
      409);
  r = c.Put("/v1/adapters/myapp", json({{"path", b_}}).dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(BodyJson(r)["replaced"], true);
  EXPECT_EQ(Listed(c)["myapp"], b_);
  const std::string with_b = Complete(c, Named("myapp"));
  EXPECT_NE(with_b, with_a);
  // A file that cannot be used: 400, and the registered version stays.
  r = c.Put("/v1/adapters/myapp", json({{"path", truncated_}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  r = c.Put("/v1/adapters/myapp", json({{"path", other_model_}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(Complete(c, Named("myapp")), with_b);
  // Bad bodies: another name than the path's, no path, a bad scale.
  EXPECT_EQ(
      c.Put("/v1/adapters/myapp", json({{"name", "x"}, {"path", a_}}).dump(), "application/json")
          ->status,
      400);
  EXPECT_EQ(c.Put("/v1/adapters/myapp", "{}", "application/json")->status, 400);
  EXPECT_EQ(
      c.Put("/v1/adapters/myapp", json({{"path", a_}, {"scale", 99}}).dump(), "application/json")
          ->status,
      400);

  // Swapping versions while requests name the adapter: none of them ever finds it missing.
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0}, served{0};
  std::thread requests([&] {
    auto ci = server.Client();
    while (!stop.load()) {
      const int status = CompletionStatus(ci, Named("myapp"));
      (status == 200 ? served : refused)++;
    }
  });
  struct Joiner {  // also when an ASSERT below returns early
    std::atomic<bool>* stop;
    std::thread* t;
    ~Joiner() {
      *stop = true;
      if (t->joinable()) t->join();
    }
  } joiner{&stop, &requests};
  // Swap while requests run: from the first one served until ten more were (at least 12 swaps).
  ASSERT_TRUE(WaitFor([&] { return served.load() + refused.load() >= 1; }, 20));
  const int before = served.load();
  int swaps = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((swaps < 12 || served.load() < before + 10) &&
         std::chrono::steady_clock::now() < give_up) {
    r = c.Put("/v1/adapters/myapp", json({{"path", swaps % 2 ? b_ : a_}}).dump(),
              "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    ++swaps;
  }
  if (swaps % 2 == 1) {  // end on b
    r = c.Put("/v1/adapters/myapp", json({{"path", b_}}).dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  EXPECT_GE(served.load(), before + 10) << "requests did not run while versions were swapped";
  stop = true;
  requests.join();  // before reading `refused`
  EXPECT_EQ(refused.load(), 0) << "a request found the adapter missing during a swap";
  EXPECT_EQ(Complete(c, Named("myapp")), with_b);  // the last PUT was b
}

}  // namespace
}  // namespace odlm::testing
