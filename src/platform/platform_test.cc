#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "platform/clock.h"
#include "platform/cpu_features.h"
#include "platform/cpu_info.h"
#include "platform/file_util.h"
#include "platform/mapped_file.h"
#include "platform/process_stats.h"

namespace odlm {
namespace {

std::string TempPath(const char* name) {
  return std::string(::testing::TempDir()) + "/odlm_platform_" + std::to_string(::getpid()) + "_" +
         name;
}

TEST(FileUtilTest, AtomicWriteThenReadAndMap) {
  const std::string path = TempPath("a.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "hello").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "hello, world").ok());  // replaces
  auto text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "hello, world");
  auto mapped = MappedFile::Open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  ASSERT_EQ((*mapped)->size(), 12u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*mapped)->data()), 5), "hello");
  std::remove(path.c_str());
}

TEST(FileUtilTest, MissingFilesAndDirectoriesAreClearErrors) {
  auto r = ReadFileToString("/nonexistent/odlm/file");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/odlm/file"), std::string::npos);
  auto m = MappedFile::Open("/nonexistent/model.gguf");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  auto d = MappedFile::Open("/tmp");
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(WriteFileAtomically("/nonexistent/dir/x", "y").ok());
}

// The names in the directory of `path` that start with its file name and hold ".tmp.".
std::vector<std::string> TempFilesOf(const std::string& path) {
  std::vector<std::string> out;
  const std::filesystem::path p(path);
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path())) {
    const std::string name = e.path().filename().string();
    if (name.rfind(p.filename().string() + ".tmp.", 0) == 0) out.push_back(name);
  }
  return out;
}

TEST(AtomicFileTest, UncommittedLeavesTheTargetAndNoTemporaryFile) {
  const std::string path = TempPath("atomic.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  {
    auto f = AtomicFile::Create(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append("new contents").ok());
    EXPECT_EQ(TempFilesOf(path).size(), 1u);
    EXPECT_EQ(*ReadFileToString(path), "old");  // nothing visible before Commit
  }
  EXPECT_EQ(*ReadFileToString(path), "old");
  EXPECT_TRUE(TempFilesOf(path).empty());
  // Two writers of one target hold different temporary files; the last commit wins, whole.
  auto a = AtomicFile::Create(path);
  auto b = AtomicFile::Create(path);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->temp_path(), (*b)->temp_path());
  ASSERT_TRUE((*a)->Append("from a").ok());
  ASSERT_TRUE((*b)->Append("from b").ok());
  ASSERT_TRUE((*a)->Commit().ok());
  ASSERT_TRUE((*b)->Sync().ok());
  ASSERT_TRUE((*b)->Commit().ok());
  EXPECT_EQ(*ReadFileToString(path), "from b");
  EXPECT_TRUE(TempFilesOf(path).empty());
  std::filesystem::remove(path);
}

TEST(AtomicFileTest, ModeIsTheCallersFromCreationOn) {
  const std::string path = TempPath("private.txt");
  const mode_t old_umask = ::umask(0);  // the mode must not depend on the umask either way
  AtomicFile::Options options;
  options.mode = 0600;
  auto f = AtomicFile::Create(path, options);
  ::umask(old_umask);
  ASSERT_TRUE(f.ok());
  struct stat st {};
  ASSERT_EQ(::stat((*f)->temp_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE((*f)->Append("secret").ok());
  ASSERT_TRUE((*f)->Commit().ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove(path);
}

TEST(AtomicFileTest, DirectoriesAndErrors) {
  EXPECT_EQ(DirectoryOf("a/b/c.txt"), "a/b");
  EXPECT_EQ(DirectoryOf("c.txt"), ".");
  EXPECT_EQ(DirectoryOf("/c.txt"), "/");
  EXPECT_TRUE(SyncDirectory(::testing::TempDir()).ok());
  const Status missing = SyncDirectory("/nonexistent/odlm-dir");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("/nonexistent/odlm-dir"), std::string::npos);
  const auto no_dir = AtomicFile::Create("/nonexistent/odlm-dir/x");
  EXPECT_EQ(no_dir.status().code(), StatusCode::kNotFound);
}

TEST(MappedFileTest, EmptyFileMapsToNothing) {
  const std::string path = TempPath("empty.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  auto m = MappedFile::Open(path);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->size(), 0u);
  std::remove(path.c_str());
}

// kCopy gives the same bytes as kMap, starting on a 2 MiB boundary, for sizes around a huge page
// and odd ones.
TEST(MappedFileTest, CopyModeHoldsTheSameBytesHugePageAligned) {
  for (size_t size : {size_t{1}, size_t{4097}, (size_t{2} << 20) - 1, (size_t{2} << 20) + 7}) {
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + 7) & 0xff);
    const std::string path = TempPath("copy.bin");
    ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
    auto mapped = MappedFile::Open(path, MappedFile::Mode::kMap);
    auto copied = MappedFile::Open(path, MappedFile::Mode::kCopy);
    ASSERT_TRUE(mapped.ok() && copied.ok()) << copied.status().ToString();
    ASSERT_EQ((*copied)->size(), size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>((*copied)->data()) % (uintptr_t{2} << 20), 0u);
    EXPECT_EQ(std::memcmp((*copied)->data(), (*mapped)->data(), size), 0) << size;
    std::remove(path.c_str());
  }
  const std::string empty = TempPath("empty-copy.bin");
  ASSERT_TRUE(WriteFileAtomically(empty, "").ok());
  auto e = MappedFile::Open(empty, MappedFile::Mode::kCopy);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->size(), 0u);
  std::remove(empty.c_str());
  EXPECT_EQ(MappedFile::Open("/nonexistent/x", MappedFile::Mode::kCopy).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(MappedFile::Open("/tmp", MappedFile::Mode::kCopy).status().code(),
            StatusCode::kInvalidArgument);
}

// DropPages leaves a mapped file's bytes readable while they leave the resident set; on a copy
// (anonymous memory, which would read back as zeros) it does nothing.
TEST(MappedFileTest, DropPagesKeepsTheBytes) {
  const size_t size = size_t{8} << 20;
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7 + i / 4096) & 0xff);
  const std::string path = TempPath("drop.bin");
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
  for (auto mode : {MappedFile::Mode::kMap, MappedFile::Mode::kCopy}) {
    auto m = MappedFile::Open(path, mode);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const uint8_t* d = (*m)->data();
    uint64_t sum = 0;
    for (size_t i = 0; i < size; i += 64) sum += d[i];  // every page resident
    const int64_t before = CurrentResidentBytes();
    (*m)->DropPages(d + 1000, size - 2000);  // whole pages inside only
    const int64_t after = CurrentResidentBytes();
    if (mode == MappedFile::Mode::kMap && before > 0) {
      EXPECT_LT(after, before - (int64_t{4} << 20)) << "the dropped pages left the resident set";
    }
    EXPECT_EQ(std::memcmp(d, bytes.data(), size), 0)
        << (mode == MappedFile::Mode::kMap ? "map" : "copy");
    (*m)->DropPages(d, 0);
    (*m)->DropPages(bytes.data(), 10);  // outside the mapping: ignored
    EXPECT_EQ(std::memcmp(d, bytes.data(), size), 0);
    EXPECT_GT(sum, 0u);
  }
  std::remove(path.c_str());
}

TEST(ProcessStatsTest, ClockAndMemoryAreSane) {
  int64_t t0 = MonotonicNanos();
  int64_t t1 = MonotonicNanos();
  EXPECT_LE(t0, t1);
  EXPECT_GT(PeakResidentBytes(), 0);
  EXPECT_GT(CurrentResidentBytes(), 0);
  EXPECT_GE(PeakResidentBytes(), CurrentResidentBytes() / 2);
  EXPECT_GT(PhysicalMemoryBytes(), 0);
}

TEST(CpuFeaturesTest, DescribesItself) {
  const CpuFeatures& f = GetCpuFeatures();
  EXPECT_FALSE(f.ToString().empty());
  if (f.avx512vnni) {
    EXPECT_TRUE(f.avx512f);
  }
}

TEST(CpuInfoTest, ParsesProcCpuinfoAndSysfsCacheSizes) {
  CpuInfo info;
  ParseProcCpuinfo(
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9654 96-Core "
      "Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9654 96-Core Processor\n",
      &info);
  EXPECT_EQ(info.model, "AMD EPYC 9654 96-Core Processor");
  EXPECT_EQ(info.logical_cpus, 2);
  CpuInfo arm;
  ParseProcCpuinfo("processor : 0\nBogoMIPS : 50.00\nModel : Raspberry Pi 5 Model B\n", &arm);
  EXPECT_EQ(arm.model, "Raspberry Pi 5 Model B");
  EXPECT_EQ(ParseCacheSize("32K\n"), 32 << 10);
  EXPECT_EQ(ParseCacheSize("32768K"), 32 << 20);
  EXPECT_EQ(ParseCacheSize("1M"), 1 << 20);
  EXPECT_EQ(ParseCacheSize("512"), 512);
  EXPECT_EQ(ParseCacheSize("K"), 0);
  EXPECT_EQ(ParseCacheSize("12x"), 0);
  EXPECT_EQ(ParseCacheSize(""), 0);
  info.l1d_bytes = 32 << 10;
  info.l2_bytes = 1 << 20;
  info.l3_bytes = 32 << 20;
  EXPECT_EQ(info.ToString(),
            "AMD EPYC 9654 96-Core Processor (2 CPUs; L1d 32 KiB, L2 1 MiB, L3 32 MiB)");
  // This machine: at least the CPU count is known.
  EXPECT_GT(GetCpuInfo().logical_cpus, 0);
}

}  // namespace
TEST(ClockTest, SteadyIsMonotonicAndManualMovesOnlyWhenTold) {
  const int64_t a = SteadyClock().NowNs();
  const int64_t b = SteadyClock().NowNs();
  EXPECT_LE(a, b);
  ManualClock manual(1000);
  EXPECT_EQ(manual.NowNs(), 1000);
  EXPECT_EQ(manual.NowNs(), 1000);
  manual.Advance(250);
  EXPECT_EQ(manual.NowNs(), 1250);
}

}  // namespace odlm
