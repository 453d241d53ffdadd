// Issue 16 (4, 9): the keys file under concurrent `odlm serve --add-app`, apps removed and added
// again, and a deleted keys file — with real processes and a real server.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "server/key_store.h"
#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

using nlohmann::json;

class ServerKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { keys_ = dir_.path() + "/keys.json"; }
  TempDir dir_;
  std::string keys_;
};

// (4) Ten `--add-app` at once: every app lands in the file and every printed key works.
TEST_F(ServerKeysTest, ConcurrentAddAppsAllLand) {
  constexpr int kApps = 10;
  std::vector<ProcessResult> results(kApps);
  std::vector<std::thread> threads;
  for (int i = 0; i < kApps; ++i) {
    threads.emplace_back([&, i] {
      results[i] = RunOdlm("serve --keys '" + keys_ + "' --add-app app" + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();
  auto store = server::KeyStore::Load(keys_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->apps().size(), static_cast<size_t>(kApps));
  for (int i = 0; i < kApps; ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << results[i].err;
    std::string key = results[i].out;
    while (!key.empty() && key.back() == '\n') key.pop_back();
    const server::AppRecord* app = store->Authenticate(key);
    ASSERT_NE(app, nullptr) << "the key printed for app" << i << " does not work";
    EXPECT_EQ(app->name, "app" + std::to_string(i));
  }
  // Written with mode 0600, and no temporary file is left behind.
  struct stat st {};
  ASSERT_EQ(::stat(keys_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const ProcessResult ls = RunProcess({"ls", dir_.path()});
  EXPECT_EQ(ls.out.find(".tmp"), std::string::npos) << ls.out;
}

// A write that cannot be made fails loudly: no key is printed, the exit code says so, and the
// file is unchanged. (The file size limit makes every write fail, for root too.)
TEST_F(ServerKeysTest, AddAppFailsLoudlyWhenTheFileCannotBeWritten) {
  ASSERT_FALSE(AddApp(keys_, "first").empty());
  const ProcessResult r = RunShell("trap '' XFSZ; ulimit -f 0; exec '" + OdlmBinary() +
                                   "' serve --keys '" + keys_ + "' --add-app second");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "") << "a key was printed for an app that was not stored";
  EXPECT_NE(r.err.find("not added"), std::string::npos) << r.err;
  auto store = server::KeyStore::Load(keys_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->apps().size(), 1u);
}

// (9) An app removed and added again under the same name is a new app: it does not inherit the
// old one's contexts. Deleting the keys file revokes every key.
TEST_F(ServerKeysTest, ReAddedAppStartsEmptyAndDeletingTheFileRevokesKeys) {
  const std::string model = GenerateSmallModel(dir_.path());
  const std::string state = dir_.path() + "/state";
  const std::string old_key = AddApp(keys_, "notes");
  std::string id;
  {
    ServerProcess server;
    ASSERT_TRUE(server.Start({"-m", model, "--keys", keys_, "--state-dir", state}));
    auto r =
        server.Client(old_key).Post("/v1/contexts", R"({"system":"private"})", "application/json");
    ASSERT_EQ(r->status, 201);
    id = BodyJson(r)["id"];
    EXPECT_EQ(server.Stop(SIGTERM), 0);
  }
  // Remove the app (by hand, as an administrator would) and add one of the same name.
  {
    std::ifstream in(keys_);
    json doc = json::parse(in);
    doc["apps"] = json::array();
    std::ofstream(keys_ + ".edit") << doc.dump(2);
    ASSERT_EQ(std::rename((keys_ + ".edit").c_str(), keys_.c_str()), 0);
  }
  const std::string new_key = AddApp(keys_, "notes");
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model, "--keys", keys_, "--state-dir", state}));
  auto c = server.Client(new_key);
  EXPECT_EQ(c.Get("/v1/contexts/" + id)->status, 404);
  EXPECT_EQ(BodyJson(c.Get("/v1/contexts"))["data"].size(), 0u);
  EXPECT_EQ(server.Client(old_key).Get("/v1/models")->status, 401);

  // Deleting the keys file: the key stops working within a few reloads.
  ASSERT_EQ(c.Get("/v1/models")->status, 200);
  ASSERT_EQ(std::remove(keys_.c_str()), 0);
  int status = 200;
  for (int i = 0; i < 200 && status != 401; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = c.Get("/v1/models")->status;
  }
  EXPECT_EQ(status, 401) << "a deleted keys file kept its keys valid";
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace odlm::testing
