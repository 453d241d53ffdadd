// tools/odlm/random_adapters.cc — random LoRA adapters for benchmarks (random_adapters.h).
#include "random_adapters.h"

#include <cmath>
#include <cstdio>
#include <random>

namespace odlm::cli {

void AddRandomLoraOptions(CLI::App& app, RandomLoraOptions* o) {
  app.add_option("--random-lora", o->count,
                 "also register N random adapters rand1..randN on all seven projections (for "
                 "timing models without adapter files)")
      ->check(CLI::Range(0, 16));
  app.add_option("--random-rank", o->rank, "rank of the --random-lora adapters")
      ->check(CLI::Range(1, 1024));
}

bool RegisterRandomAdapters(const char* prog, const RandomLoraOptions& o, Engine* engine) {
  const LoraBaseShape base = engine->model().LoraBase();
  for (int k = 0; k < o.count; ++k) {
    std::mt19937 rng(1000 + k);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<LoraPair> pairs;
    for (int32_t layer = 0; layer < base.n_layer; ++layer) {
      for (int t = 0; t < kLoraTargetCount; ++t) {
        LoraPair p;
        p.layer = layer;
        p.target = static_cast<LoraTarget>(t);
        p.rank = o.rank;
        p.n_in = base.cols[t];
        p.n_out = base.rows[t];
        p.a.resize(static_cast<size_t>(p.rank * p.n_in));
        p.b.resize(static_cast<size_t>(p.n_out * p.rank));
        const float sa = 1.0f / std::sqrt(static_cast<float>(p.n_in));
        for (float& v : p.a) v = u(rng) * sa;
        for (float& v : p.b) v = u(rng) * 0.01f;
        pairs.push_back(std::move(p));
      }
    }
    auto a = LoraAdapter::FromPairs(base.arch, static_cast<float>(o.rank), std::move(pairs), base);
    Status st =
        a.ok() ? engine->RegisterAdapter("rand" + std::to_string(k + 1),
                                         std::shared_ptr<const LoraAdapter>(std::move(a).value()))
               : a.status();
    if (!st.ok()) {
      std::fprintf(stderr, "%s: random adapter %d: %s\n", prog, k + 1, st.ToString().c_str());
      return false;
    }
  }
  return true;
}

}  // namespace odlm::cli
