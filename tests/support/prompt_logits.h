// tests/support/prompt_logits.h — runs a loaded model over a fixed prompt and one decode step,
// for tests that compare two ways of computing the same logits.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kv/kv_cache.h"
#include "model/llama_model.h"

namespace odlm::testing {

// Logits of an n_prompt-token prompt (token i = 1 + 37·i mod 299; every row) and then of one
// decode step (token 5) at position n_prompt, through an f32 KV cache of 64 tokens. Test
// failures (and what was computed so far) on error.
inline std::vector<float> PromptThenStepLogits(LlamaModel& model, int n_prompt, ThreadPool* pool) {
  const ModelConfig& c = model.config();
  KvCache cache({.n_layer = c.n_layer,
                 .kv_dim = c.kv_dim(),
                 .type = DType::kF32,
                 .chunk_tokens = 16,
                 .max_tokens = 64});
  EXPECT_TRUE(cache.Reserve(n_prompt + 8).ok());
  std::vector<int32_t> prompt;
  for (int i = 0; i < n_prompt; ++i) prompt.push_back(1 + (i * 37) % 299);
  std::vector<float> all, step_logits;
  KvCacheView view = cache.View();
  SequenceStep step{prompt.data(), n_prompt, &view, true, {}};
  EXPECT_TRUE(model.Forward({&step, 1}, pool, &all).ok());
  cache.Advance(n_prompt);
  const int32_t next = 5;
  view = cache.View();
  SequenceStep decode{&next, 1, &view, false, {}};
  EXPECT_TRUE(model.Forward({&decode, 1}, pool, &step_logits).ok());
  all.insert(all.end(), step_logits.begin(), step_logits.end());
  return all;
}

}  // namespace odlm::testing
