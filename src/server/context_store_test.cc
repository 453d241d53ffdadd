#include "server/context_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace odlm::server {
namespace {

class ContextStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/odlm_ctxstore_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

StoredContext Make(const std::string& id, const std::string& app, int64_t t) {
  StoredContext c;
  c.id = id;
  c.app = app;
  c.system = "system of " + id;
  c.created_ms = c.updated_ms = t;
  return c;
}

TEST_F(ContextStoreTest, PersistsAcrossReopen) {
  {
    auto s = ContextStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->Create(Make("c1", "notes", 1)).ok());
    ASSERT_TRUE((*s)->Create(Make("c2", "mail", 2)).ok());
    ASSERT_TRUE((*s)->AppendTurn("c1", "hello", "hi there", 5).ok());
    ASSERT_TRUE((*s)->AppendTurn("c1", "and \"quotes\"\n", "\xE2\x82\xAC ok", 6).ok());
    ASSERT_TRUE((*s)->AppendTurn("c2", "x", "y", 7).ok());
    ASSERT_TRUE((*s)->Create(Make("c3", "notes", 3)).ok());
    ASSERT_TRUE((*s)->Delete("c3").ok());
  }
  auto s = ContextStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  auto all = (*s)->LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  const StoredContext& c1 = (*all)[0];
  EXPECT_EQ(c1.id, "c1");
  EXPECT_EQ(c1.app, "notes");
  EXPECT_EQ(c1.system, "system of c1");
  EXPECT_EQ(c1.updated_ms, 6);
  ASSERT_EQ(c1.messages.size(), 4u);
  EXPECT_EQ(c1.messages[0].role, "user");
  EXPECT_EQ(c1.messages[1].role, "assistant");
  EXPECT_EQ(c1.messages[2].content, "and \"quotes\"\n");
  EXPECT_EQ(c1.messages[3].content, "\xE2\x82\xAC ok");
  EXPECT_EQ((*all)[1].messages.size(), 2u);
}

TEST_F(ContextStoreTest, ErrorsForUnknownAndDuplicateIds) {
  auto s = ContextStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Create(Make("c1", "a", 1)).ok());
  EXPECT_EQ((*s)->Create(Make("c1", "b", 2)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*s)->AppendTurn("nope", "u", "r", 3).code(), StatusCode::kNotFound);
  EXPECT_EQ((*s)->Delete("nope").code(), StatusCode::kNotFound);
  // A failed call changed nothing.
  auto all = (*s)->LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].app, "a");
  EXPECT_TRUE((*all)[0].messages.empty());
}

TEST_F(ContextStoreTest, InMemoryStore) {
  auto s = ContextStore::Open("");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Create(Make("m", "a", 1)).ok());
  ASSERT_TRUE((*s)->AppendTurn("m", "u", "r", 2).ok());
  auto all = (*s)->LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].messages.size(), 2u);
}

TEST_F(ContextStoreTest, UnwritableDirectoryIsAnError) {
  auto s = ContextStore::Open("/proc/odlm_no_such_dir");
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace odlm::server
