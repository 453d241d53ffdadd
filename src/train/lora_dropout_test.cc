// train/lora_dropout_test.cc — LoRA dropout: the backward pass recomputes the forward's masks, so
// its gradients are the derivatives of the loss the forward computed with dropout (checked by
// central differences), and masks depend on the seed only.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "train/forward_backward.h"
#include "train/model_io.h"

namespace odlm::train {
namespace {

TEST(LoraDropoutTest, GradientsAreThoseOfTheDroppedOutLoss) {
  const std::string cfg = ::testing::TempDir() + "/cfg.json";
  std::ofstream(cfg) << R"({"dim": 32, "layers": 1, "heads": 2, "kv_heads": 1, "ffn": 64,
                           "vocab": 512})";
  auto initial = BuildInitialModel(cfg);
  ASSERT_TRUE(initial.ok()) << initial.status().ToString();
  LoraSpec spec;
  spec.rank = 4;
  spec.alpha = 8;
  spec.dropout = 0.3f;
  auto tm_or = TrainableModel::Lora(*initial->file, spec);
  ASSERT_TRUE(tm_or.ok()) << tm_or.status().ToString();
  TrainableModel& tm = **tm_or;
  std::mt19937 rng(3);
  std::normal_distribution<float> n01(0.0f, 0.5f);
  for (Param& p : tm.params()) {
    for (int64_t i = 0; i < p.n; ++i) p.data[i] = n01(rng);  // B != 0 so A gets gradients too
  }
  std::vector<int32_t> tokens(12);
  for (auto& t : tokens) t = 3 + static_cast<int32_t>(rng() % 500);
  std::vector<float> weights(12, 1.0f);
  weights[0] = 0;
  const std::vector<TrainSequence> batch = {{tokens.data(), weights.data(), 12}};
  ForwardBackward fb(&tm);
  ForwardBackwardOptions with_grad, loss_only;
  loss_only.backward = false;
  auto loss_at = [&](uint64_t seed) {
    tm.SetDropout(true, seed);
    auto r = fb.Run(batch, 11.0, loss_only, nullptr);
    EXPECT_TRUE(r.ok());
    return r->weighted_loss / 11.0;
  };
  tm.SetDropout(true, 42);
  ZeroGrads(&tm.params());
  ASSERT_TRUE(fb.Run(batch, 11.0, with_grad, nullptr).ok());
  EXPECT_NE(loss_at(42), loss_at(43));  // other masks, other loss
  tm.SetDropout(false, 0);
  const double no_dropout = fb.Run(batch, 11.0, loss_only, nullptr)->weighted_loss / 11.0;
  EXPECT_NE(no_dropout, loss_at(42));
  // Central differences in f64 of the f32 loss (h large enough for f32): a sample of elements.
  int checked = 0;
  for (Param& p : tm.params()) {
    for (int64_t i = 0; i < p.n; i += 37) {
      const float keep = p.data[i];
      const float h = 1e-2f;
      p.data[i] = keep + h;
      const double up = loss_at(42);
      p.data[i] = keep - h;
      const double down = loss_at(42);
      p.data[i] = keep;
      const double numeric = (up - down) / (2.0 * h);
      EXPECT_NEAR(p.grad[i], numeric, 2e-3 + 0.03 * std::fabs(numeric))
          << p.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace odlm::train
