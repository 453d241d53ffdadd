// tools/odlm/random_adapters.cc — random LoRA adapters for benchmarks (random_adapters.h).
#include "random_adapters.h"

#include <cstdio>

#include "adapters/lora_random.h"

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
    auto a = RandomLoraAdapter(base, o.rank, static_cast<uint32_t>(1000 + k), 0.01f);
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
