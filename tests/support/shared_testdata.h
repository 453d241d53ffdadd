// tests/support/shared_testdata.h — where tests find ../shared/testdata, and how they skip without
// it.
//
// Tests run with the project root as working directory (odlm_test). A user's clone has no
// ../shared: tests that need it call REQUIRE_SHARED_TESTDATA() and are reported SKIPPED with a loud
// message, never passed. Set ODLM_SHARED_TESTDATA to point elsewhere.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace odlm::testing {

// The testdata directory ("../shared/testdata" or $ODLM_SHARED_TESTDATA), or "" if it is absent.
inline std::string SharedTestdataDir() {
  const char* env = std::getenv("ODLM_SHARED_TESTDATA");
  std::string dir = env != nullptr ? env : std::string(ODLM_SOURCE_DIR) + "/../shared/testdata";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "";
  return dir;
}

// Path of a file under the shared testdata directory ("" if the directory is absent).
inline std::string SharedTestdataPath(const std::string& relative) {
  std::string dir = SharedTestdataDir();
  return dir.empty() ? "" : dir + "/" + relative;
}

}  // namespace odlm::testing

// Skips the current test, loudly, when ../shared/testdata is missing.
#define REQUIRE_SHARED_TESTDATA()                                                               \
  do {                                                                                          \
    if (::odlm::testing::SharedTestdataDir().empty()) {                                         \
      GTEST_SKIP() << "SKIPPED: ../shared/testdata is absent (it is present in CI); this test " \
                      "needs the shared reference data";                                        \
    }                                                                                           \
  } while (0)
