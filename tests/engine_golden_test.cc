// tests/engine_golden_test.cc — end-to-end golden tests of the runtime on real trained weights:
// stories260K (TinyStories) greedy from BOS must reproduce the reference text exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "odlm/engine.h"
#include "odlm/generate.h"
#include "tests/support/shared_testdata.h"

namespace odlm {
namespace {

TEST(EngineGoldenTest, Stories260KGreedyFromBosMatchesExpectedText) {
  REQUIRE_SHARED_TESTDATA();
  EngineOptions o;
  o.model_path = odlm::testing::SharedTestdataPath("models/stories260K.gguf");
  o.n_ctx = 512;  // more than the metadata's 128: allowed with a warning
  o.n_threads = 2;
  o.kv_type = DType::kF32;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_EQ((*engine)->config().n_ctx_train, 128);
  const std::vector<int32_t> ids = (*engine)->tokenizer().Encode("Once upon a time", true, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));

  auto session = (*engine)->NewSession();
  GenerateOptions g;
  g.max_tokens = 256;
  g.stop_at_end_of_generation = false;
  std::string streamed;
  const int32_t bos[1] = {(*engine)->tokenizer().bos_id()};
  auto r = Generate(**engine, *session, bos, g, [&](std::string_view t) {
    streamed += t;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tokens.size(), 256u);
  std::ifstream in(odlm::testing::SharedTestdataPath("models/stories260K.expected.txt"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string expected = ss.str();
  ASSERT_FALSE(expected.empty());
  if (expected.back() == '\n') expected.pop_back();
  EXPECT_EQ(r->text, expected);
  EXPECT_EQ(streamed, r->text);
}

}  // namespace
}  // namespace odlm
