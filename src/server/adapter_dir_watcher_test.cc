#include "server/adapter_dir_watcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace odlm::server {
namespace {

namespace fs = std::filesystem;

// A registry standing in for the service's: a file "loads" to its contents unless they start
// with "bad"; each load is a new version (a new handle). Consecutive versions of a file differ in
// size below: a rename may reuse the inode number just freed within one tick of the coarse clock
// that stamps mtimes, and the watcher would not tell two such versions of equal size apart.
struct FakeRegistry {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const std::string>> by_name;
  int loads = 0;
  int unloads = 0;

  AdapterDirHooks Hooks() {
    AdapterDirHooks h;
    h.load = [this](const std::string& name,
                    const std::string& path) -> StatusOr<std::shared_ptr<const void>> {
      std::ifstream in(fs::is_directory(path) ? path + "/adapter_config.json" : path);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.rfind("bad", 0) == 0) return DataLossError(path + ": truncated");
      auto v = std::make_shared<const std::string>(text);
      std::lock_guard<std::mutex> lock(mu);
      by_name[name] = v;
      ++loads;
      return std::shared_ptr<const void>(v);
    };
    h.unload = [this](const std::string& name, const std::shared_ptr<const void>& handle) {
      std::lock_guard<std::mutex> lock(mu);
      auto it = by_name.find(name);
      if (it != by_name.end() && it->second.get() == handle.get()) {
        by_name.erase(it);
        ++unloads;
      }
    };
    return h;
  }
  // The registered contents of `name`, or "-" if none.
  std::string Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = by_name.find(name);
    return it == by_name.end() ? "-" : *it->second;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return by_name.size();
  }
};

class AdapterDirWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/odlm_adapter_dir_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Writes `text` crash-safely (temp file, rename), as odlm train does: a new inode each time.
  void Put(const std::string& file, const std::string& text) {
    const std::string tmp = dir_ + "/." + file + ".tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, dir_ + "/" + file);
  }
  std::unique_ptr<AdapterDirWatcher> Watcher(FakeRegistry* r, int max = 256,
                                             std::set<std::string> reserved = {}) {
    AdapterDirOptions o;
    o.dir = dir_;
    o.max_adapters = max;
    o.poll_interval = std::chrono::milliseconds(20);
    o.reserved_names = std::move(reserved);
    auto w = AdapterDirWatcher::Create(o, r->Hooks());
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  std::string dir_;
};

TEST_F(AdapterDirWatcherTest, RefusesAMissingDirectory) {
  FakeRegistry r;
  AdapterDirOptions o;
  o.dir = dir_ + "/nope";
  EXPECT_FALSE(AdapterDirWatcher::Create(o, r.Hooks()).ok());
  o.dir = dir_;
  EXPECT_FALSE(AdapterDirWatcher::Create(o, AdapterDirHooks{}).ok());
}

TEST_F(AdapterDirWatcherTest, FirstPassRegistersAdaptersAndIgnoresTheRest) {
  Put("notes.gguf", "n1");
  Put("x.y.gguf", "xy");
  fs::create_directory(dir_ + "/peft");
  std::ofstream(dir_ + "/peft/adapter_config.json") << "p1";
  fs::create_directory(dir_ + "/empty");                              // no adapter_config.json
  std::ofstream(dir_ + "/.hidden.gguf") << "h";                       // temp / hidden
  std::ofstream(dir_ + "/half.gguf.tmp") << "t";                      // a writer's temp file
  std::ofstream(dir_ + "/out.tmp.gguf") << "t";                       // ".tmp" anywhere in the name
  std::ofstream(dir_ + "/README.txt") << "r";                         // not an adapter
  std::ofstream(dir_ + "/my adapter.gguf") << "s";                    // not a valid name
  std::ofstream(dir_ + "/" + std::string(70, 'a') + ".gguf") << "l";  // name too long
  FakeRegistry r;
  auto w = Watcher(&r);
  ASSERT_NE(w, nullptr);
  w->ScanOnce(/*settle=*/false);
  EXPECT_EQ(r.Get("notes"), "n1");
  EXPECT_EQ(r.Get("x.y"), "xy");
  EXPECT_EQ(r.Get("peft"), "p1");
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(w->stats().followed, 3);
  EXPECT_EQ(w->stats().registered, 3);
  // Nothing changed: nothing is loaded again.
  w->ScanOnce();
  w->ScanOnce();
  EXPECT_EQ(r.loads, 3);
}

TEST_F(AdapterDirWatcherTest, NewReplacedAndDeletedFilesAfterTheyHoldStill) {
  FakeRegistry r;
  auto w = Watcher(&r);
  ASSERT_NE(w, nullptr);
  w->ScanOnce(false);
  Put("app.gguf", "v1");
  w->ScanOnce();  // seen once: may still be being written
  EXPECT_EQ(r.Get("app"), "-");
  w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "v1");
  Put("app.gguf", "v22");  // a retrained version renamed into place
  w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "v1");
  w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "v22");
  EXPECT_EQ(r.loads, 2);
  fs::remove(dir_ + "/app.gguf");
  w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "-");
  EXPECT_EQ(r.unloads, 1);
  EXPECT_EQ(w->stats().followed, 0);
}

TEST_F(AdapterDirWatcherTest, ABadVersionKeepsTheGoodOneAndIsTriedOnce) {
  Put("app.gguf", "good");
  FakeRegistry r;
  auto w = Watcher(&r);
  ASSERT_NE(w, nullptr);
  w->ScanOnce(false);
  EXPECT_EQ(r.Get("app"), "good");
  Put("app.gguf", "bad bytes");
  for (int i = 0; i < 5; ++i) w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "good");       // the previous good version stays
  EXPECT_EQ(w->stats().load_errors, 1);  // one try (and one log line) per version
  Put("app.gguf", "bad again!");         // another bad version: tried (and logged) once more
  for (int i = 0; i < 3; ++i) w->ScanOnce();
  EXPECT_EQ(w->stats().load_errors, 2);
  Put("app.gguf", "fixed");
  w->ScanOnce();
  w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "fixed");
  // A bad new file registers nothing and does not disturb the others.
  Put("broken.gguf", "bad");
  w->ScanOnce();
  w->ScanOnce();
  EXPECT_EQ(r.Get("broken"), "-");
  EXPECT_EQ(r.Get("app"), "fixed");
  EXPECT_EQ(w->stats().load_errors, 3);
}

TEST_F(AdapterDirWatcherTest, ReservedNamesAreLeftAlone) {
  Put("notes.gguf", "from dir");
  Put("other.gguf", "o");
  FakeRegistry r;
  auto w = Watcher(&r, 256, {"notes"});
  ASSERT_NE(w, nullptr);
  w->ScanOnce(false);
  EXPECT_EQ(r.Get("notes"), "-");
  EXPECT_EQ(r.Get("other"), "o");
  fs::remove(dir_ + "/notes.gguf");
  w->ScanOnce();
  EXPECT_EQ(r.unloads, 0);
}

TEST_F(AdapterDirWatcherTest, DeletingDoesNotUnregisterAVersionReplacedByOthers) {
  Put("app.gguf", "dir");
  FakeRegistry r;
  auto w = Watcher(&r);
  ASSERT_NE(w, nullptr);
  w->ScanOnce(false);
  {  // an admin's PUT swaps in another version under the name
    std::lock_guard<std::mutex> lock(r.mu);
    r.by_name["app"] = std::make_shared<const std::string>("admin");
  }
  fs::remove(dir_ + "/app.gguf");
  w->ScanOnce();
  EXPECT_EQ(r.Get("app"), "admin");
}

TEST_F(AdapterDirWatcherTest, FollowsAtMostMaxAdapters) {
  Put("a.gguf", "a");
  Put("b.gguf", "b");
  Put("c.gguf", "c");
  FakeRegistry r;
  auto w = Watcher(&r, 2);
  ASSERT_NE(w, nullptr);
  w->ScanOnce(false);
  EXPECT_EQ(r.Get("a"), "a");
  EXPECT_EQ(r.Get("b"), "b");
  EXPECT_EQ(r.Get("c"), "-");  // over the limit (logged once)
  w->ScanOnce();
  EXPECT_EQ(r.Get("c"), "-");
  fs::remove(dir_ + "/a.gguf");  // room frees up: c is followed now
  w->ScanOnce();
  w->ScanOnce();
  EXPECT_EQ(r.Get("a"), "-");
  EXPECT_EQ(r.Get("c"), "c");
  EXPECT_EQ(w->stats().followed, 2);
}

TEST_F(AdapterDirWatcherTest, BackgroundThreadPicksUpANewFile) {
  Put("early.gguf", "e");
  FakeRegistry r;
  auto w = Watcher(&r);
  ASSERT_NE(w, nullptr);
  w->Start();
  EXPECT_EQ(r.Get("early"), "e");  // registered before Start returns
  Put("late.gguf", "l");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (r.Get("late") == "-" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(r.Get("late"), "l");
  w->Stop();
  w->Stop();  // idempotent
  const int64_t passes = w->stats().passes;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(w->stats().passes, passes);  // stopped
}

}  // namespace
}  // namespace odlm::server
