// The official OpenAI Node SDK against a real `odlm serve` (tests/node/openai_sdk_test.mjs).
// Needs node and the SDK installed by `npm ci` in tests/node (scripts/test.sh does it); skips
// loudly when they are absent.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/server_process.h"

namespace odlm::testing {
namespace {

TEST(ServerNodeSdkTest, OpenAiSdkChatStreamingAndErrors) {
  const std::string node_dir = std::string(ODLM_SOURCE_DIR) + "/tests/node";
  struct stat st;
  if (RunShell("node --version 2>&1").exit_code != 0) {
    GTEST_SKIP() << "SKIPPED LOUDLY: node is not installed (bash scripts/setup.sh installs it)";
  }
  if (::stat((node_dir + "/node_modules/openai/package.json").c_str(), &st) != 0) {
    GTEST_SKIP() << "SKIPPED LOUDLY: the openai SDK is not installed; run: (cd tests/node && npm "
                    "ci) — scripts/test.sh does this";
  }
  TempDir dir;
  const std::string model = GenerateSmallModel(dir.path());
  const std::string keys = dir.path() + "/keys.json";
  const std::string key = AddApp(keys, "node");
  ServerProcess server;
  ASSERT_TRUE(server.Start({"-m", model, "--keys", keys}));
  const ProcessResult r = RunShell(
      "cd " + node_dir + " && ODLM_BASE_URL=http://127.0.0.1:" + std::to_string(server.port()) +
      "/v1 ODLM_KEY=" + key + " ODLM_MODEL=small timeout 120 node openai_sdk_test.mjs 2>&1");
  const std::string& out = r.out;
  const int rc = r.exit_code;
  std::printf("%s", out.c_str());  // the SDK checks, one line each
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
  EXPECT_NE(out.find("ok   chat.completions.create stream"), std::string::npos) << out;
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace odlm::testing
