// tests/support/test_main.cc — main() of every odlm test binary.
//
// ctest runs each test case in its own process, two at a time, so tests that write files under
// ::testing::TempDir() would race on equal names. Each process gets a private temporary directory
// (TEST_TMPDIR, which TempDir() returns), removed when the process ends.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  std::string dir;
  if (const char* t = std::getenv("TEST_TMPDIR"); t == nullptr || *t == '\0') {
    char tmpl[] = "/tmp/odlm-test-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) {
      dir = tmpl;
      ::setenv("TEST_TMPDIR", dir.c_str(), 1);
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return rc;
}
