#include "kv/chunk_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace odlm {
namespace {

class ChunkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("odlm_chunk_store_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto s = ChunkStore::Open(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (size_t i = 0; i < payload_.size(); ++i) payload_[i] = static_cast<uint8_t>(i * 31 + 7);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::unique_ptr<ChunkStore> store_;
  std::vector<uint8_t> payload_ = std::vector<uint8_t>(10000);
  ChunkFileId id_{.context = 0xABCDEF,
                  .chunk = 3,
                  .generation = 2,
                  .level = 4,
                  .n_valid = 16,
                  .token_hash = 99};
};

TEST_F(ChunkStoreTest, RoundTripAndCounters) {
  ASSERT_TRUE(store_->Write(id_, payload_).ok());
  ASSERT_TRUE(store_->SyncDir().ok());
  std::vector<uint8_t> back(payload_.size());
  ASSERT_TRUE(store_->Read(id_, back).ok());
  EXPECT_EQ(back, payload_);
  EXPECT_EQ(store_->bytes_written(), 64 + 10000);
  EXPECT_GE(store_->bytes_read(), 64 + 10000);
  EXPECT_FALSE(std::filesystem::exists(store_->PathOf(id_) + ".tmp"));
}

TEST_F(ChunkStoreTest, MissingStaleAndCorruptAreDetected) {
  std::vector<uint8_t> back(payload_.size());
  EXPECT_EQ(store_->Read(id_, back).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->Write(id_, payload_).ok());
  // Another generation / tokens / level than the file holds: stale.
  ChunkFileId other = id_;
  other.generation = 3;
  EXPECT_EQ(store_->Read(other, back).code(), StatusCode::kDataLoss);
  other = id_;
  other.token_hash = 100;
  EXPECT_EQ(store_->Read(other, back).code(), StatusCode::kDataLoss);
  const std::string path = store_->PathOf(id_);
  // One flipped payload bit.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(64 + 5000);
    char c;
    f.seekg(64 + 5000);
    f.get(c);
    f.seekp(64 + 5000);
    f.put(static_cast<char>(c ^ 0x10));
  }
  Status s = store_->Read(id_, back);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.ToString().find("checksum"), std::string::npos) << s.ToString();
  // A flipped header byte.
  ASSERT_TRUE(store_->Write(id_, payload_).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put(static_cast<char>(0x7F));
  }
  EXPECT_EQ(store_->Read(id_, back).code(), StatusCode::kDataLoss);
  // Truncated (a torn write that somehow got renamed) and extended files.
  ASSERT_TRUE(store_->Write(id_, payload_).ok());
  std::filesystem::resize_file(path, 64 + 9000);
  EXPECT_EQ(store_->Read(id_, back).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(store_->Write(id_, payload_).ok());
  std::filesystem::resize_file(path, 64 + 10001);
  EXPECT_EQ(store_->Read(id_, back).code(), StatusCode::kDataLoss);
  std::filesystem::resize_file(path, 10);
  EXPECT_EQ(store_->Read(id_, back).code(), StatusCode::kDataLoss);
  // A wrong-size destination is also refused.
  ASSERT_TRUE(store_->Write(id_, payload_).ok());
  std::vector<uint8_t> small(100);
  EXPECT_EQ(store_->Read(id_, small).code(), StatusCode::kDataLoss);
  store_->Remove(id_);
  EXPECT_EQ(store_->Read(id_, back).code(), StatusCode::kNotFound);
}

TEST(Checksum64Test, SensitiveToEveryByte) {
  std::vector<uint8_t> a(37, 1);
  const uint64_t h = Checksum64(a);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] ^= 1;
    EXPECT_NE(Checksum64(a), h) << i;
    a[i] ^= 1;
  }
  a.push_back(0);
  EXPECT_NE(Checksum64(a), h);
}

}  // namespace
}  // namespace odlm
