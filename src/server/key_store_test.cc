#include "server/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "platform/file_util.h"

namespace odlm::server {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/odlm_keys_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/keys.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(KeyStoreTest, AddAppThenAuthenticate) {
  auto k1 = KeyStore::AddApp(path_, "notes", AppLimits{});
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  AppLimits limits;
  limits.max_contexts = 3;
  limits.max_in_flight = 2;
  limits.max_context_tokens = 512;
  auto k2 = KeyStore::AddApp(path_, "mail", limits);
  ASSERT_TRUE(k2.ok());
  EXPECT_NE(*k1, *k2);
  EXPECT_EQ(k1->rfind("odlm-", 0), 0u);
  EXPECT_EQ(k1->size(), 5u + 48u);

  // The file holds hashes only, and only the owner can read it.
  auto text = ReadFileToString(path_);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find(*k1), std::string::npos);
  EXPECT_NE(text->find(Sha256Hex(*k1)), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto store = KeyStore::Load(path_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ(store->apps().size(), 2u);
  const AppRecord* a = store->Authenticate(*k1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "notes");
  const AppRecord* b = store->Authenticate(*k2);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "mail");
  EXPECT_EQ(b->limits.max_contexts, 3);
  EXPECT_EQ(b->limits.max_in_flight, 2);
  EXPECT_EQ(b->limits.max_context_tokens, 512);
  EXPECT_EQ(store->Authenticate(""), nullptr);
  EXPECT_EQ(store->Authenticate("odlm-wrong"), nullptr);
  EXPECT_EQ(store->Authenticate(k1->substr(0, k1->size() - 1)), nullptr);
}

TEST_F(KeyStoreTest, RejectsDuplicateAndBadNames) {
  ASSERT_TRUE(KeyStore::AddApp(path_, "a", AppLimits{}).ok());
  EXPECT_EQ(KeyStore::AddApp(path_, "a", AppLimits{}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(KeyStore::AddApp(path_, "", AppLimits{}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyStore::AddApp(path_, "has space", AppLimits{}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyStore::AddApp(path_, std::string(65, 'x'), AppLimits{}).status().code(),
            StatusCode::kInvalidArgument);
  auto store = KeyStore::Load(path_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->apps().size(), 1u);
}

TEST_F(KeyStoreTest, MissingAndCorruptFiles) {
  EXPECT_EQ(KeyStore::Load(path_).status().code(), StatusCode::kNotFound);
  for (const char* bad : {"", "not json", "[]", "{\"apps\": 3}", "{\"apps\": [{\"name\": \"a\"}]}",
                          "{\"apps\": [{\"name\": \"a b\", \"key_sha256\": \""
                          "0000000000000000000000000000000000000000000000000000000000000000\"}]}",
                          "{\"apps\": [{\"name\": \"a\", \"key_sha256\": \""
                          "0000000000000000000000000000000000000000000000000000000000000000\", "
                          "\"max_contexts\": -1}]}"}) {
    ASSERT_TRUE(WriteFileAtomically(path_, bad).ok());
    auto s = KeyStore::Load(path_);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find(path_), std::string::npos) << s.status().ToString();
  }
}

// The store's clock, moved past one re-check interval: the next Authenticate looks at the file.
void PassRecheckInterval(ManualClock& clock) { clock.Advance(KeyStore::kRecheckNs + 1); }

TEST_F(KeyStoreTest, FollowsTheFileAddRemoveAndKeepsOldAppsOnABadFile) {
  auto k1 = KeyStore::AddApp(path_, "notes", AppLimits{});
  ASSERT_TRUE(k1.ok());
  ManualClock clock;
  auto store = KeyStore::Load(path_, clock);
  ASSERT_TRUE(store.ok());
  const AppRecord* notes = store->Authenticate(*k1);
  ASSERT_NE(notes, nullptr);

  // An app added while the store is in use is accepted without loading again — once the
  // re-check interval has passed, and not before.
  auto k2 = KeyStore::AddApp(path_, "mail", AppLimits{});
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(store->Authenticate(*k2), nullptr);
  EXPECT_EQ(store->reloads(), 0);
  PassRecheckInterval(clock);
  const AppRecord* mail = store->Authenticate(*k2);
  ASSERT_NE(mail, nullptr);
  EXPECT_EQ(mail->name, "mail");
  EXPECT_EQ(store->reloads(), 1);
  EXPECT_EQ(notes->name, "notes");  // records handed out earlier stay valid

  // A file that no longer parses keeps the apps loaded before.
  ASSERT_TRUE(WriteFileAtomically(path_, "{not json").ok());
  PassRecheckInterval(clock);
  EXPECT_NE(store->Authenticate(*k1), nullptr);
  EXPECT_NE(store->Authenticate(*k2), nullptr);
  EXPECT_EQ(store->reloads(), 1);

  // Removing an app from the file revokes its key.
  std::remove(path_.c_str());
  auto k3 = KeyStore::AddApp(path_, "notes2", AppLimits{});
  ASSERT_TRUE(k3.ok());
  PassRecheckInterval(clock);
  ASSERT_NE(store->Authenticate(*k3), nullptr);
  EXPECT_EQ(store->Authenticate(*k1), nullptr);
  EXPECT_EQ(store->Authenticate(*k2), nullptr);
  EXPECT_EQ(store->apps().size(), 1u);
}

// Issue 16 (2, 9): deep nesting is refused before parsing; apps have an identity that is not
// their name (legacy files: the name), unique in the file.
TEST(KeysFileTest, NestingIdsAndDuplicates) {
  const std::string hash(64, 'a');
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto nested = ParseKeysFile(R"({"version":1,"apps":[{"name":"x","key_sha256":")" + hash +
                                  R"(","max_in_flight":)" + deep + "}]}",
                              "k.json");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("nests deeper than 64 levels"), std::string::npos)
      << nested.status().message();
  auto apps = ParseKeysFile(R"({"version":1,"apps":[{"name":"old","key_sha256":")" + hash +
                                R"("},{"name":"new","id":"app-1234","key_sha256":")" +
                                std::string(64, 'b') + R"(","max_queued":3}]})",
                            "k.json");
  ASSERT_TRUE(apps.ok()) << apps.status().ToString();
  EXPECT_EQ((*apps)[0].id, "old");
  EXPECT_EQ((*apps)[0].limits.max_queued, AppLimits{}.max_queued);
  EXPECT_EQ((*apps)[1].id, "app-1234");
  EXPECT_EQ((*apps)[1].limits.max_queued, 3);
  auto twice =
      ParseKeysFile(R"({"version":1,"apps":[{"name":"a","id":"same","key_sha256":")" + hash +
                        R"("},{"name":"b","id":"same","key_sha256":")" + hash + R"("}]})",
                    "k.json");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("app id 'same' twice"), std::string::npos);
}

TEST_F(KeyStoreTest, AddAppGivesEachAppANewIdentity) {
  ASSERT_TRUE(KeyStore::AddApp(path_, "notes", AppLimits{}).ok());
  auto first = KeyStore::Load(path_);
  ASSERT_TRUE(first.ok());
  const std::string id = first->apps()[0].id;
  EXPECT_EQ(id.rfind("app-", 0), 0u);
  EXPECT_NE(id, "notes");
  // Removed and added again under the same name: another identity.
  ASSERT_TRUE(WriteFileAtomically(path_, R"({"version": 1, "apps": []})").ok());
  ASSERT_TRUE(KeyStore::AddApp(path_, "notes", AppLimits{}).ok());
  auto second = KeyStore::Load(path_);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->apps()[0].id, id);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace odlm::server
