// model/weight_interleave.cc — which matrices get an interleaved copy, and making them.
#include "model/weight_interleave.h"

#include <map>
#include <utility>
#include <vector>

#include "kernels/interleave.h"

namespace odlm {
namespace {

// The views MatMul reads, each distinct (data, rows) once; `token_embd` is only looked up.
std::vector<kernels::WeightMatrix*> MultipliedViews(ModelWeights* w) {
  std::vector<kernels::WeightMatrix*> v = {&w->output};
  for (LayerWeights& l : w->layers) {
    for (kernels::WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      v.push_back(m);
    }
  }
  return v;
}

bool Pays(const kernels::WeightMatrix& m) {
  return m.data != nullptr && kernels::CanInterleave(m) && kernels::InterleavedLayoutPays(m.type);
}

// Distinct views that pay, in order, keyed by what identifies their bytes.
std::map<std::pair<const void*, int64_t>, int64_t> Plan(ModelWeights* w, int64_t* total) {
  std::map<std::pair<const void*, int64_t>, int64_t> offsets;
  *total = 0;
  for (kernels::WeightMatrix* m : MultipliedViews(w)) {
    if (!Pays(*m)) continue;
    auto [it, inserted] = offsets.try_emplace({m->data, m->rows}, *total);
    if (inserted) *total += kernels::InterleavedBytes(*m);
  }
  return offsets;
}

}  // namespace

StatusOr<std::unique_ptr<HugePageMemory>> InterleaveWeights(ModelWeights* weights, ThreadPool* pool,
                                                            const GgufFile* file) {
  int64_t total = 0;
  const auto offsets = Plan(weights, &total);
  if (total == 0) return std::unique_ptr<HugePageMemory>();
  ASSIGN_OR_RETURN(std::unique_ptr<HugePageMemory> memory,
                   HugePageMemory::Allocate(static_cast<size_t>(total)));
  std::map<std::pair<const void*, int64_t>, bool> done;
  for (kernels::WeightMatrix* m : MultipliedViews(weights)) {
    if (!Pays(*m)) continue;
    const auto key = std::make_pair(m->data, m->rows);
    uint8_t* out = memory->data() + offsets.at(key);
    if (!done[key]) {
      kernels::InterleaveRows(*m, out, pool);
      if (file != nullptr) file->DropPages(m->data, static_cast<size_t>(m->rows * m->row_bytes));
      done[key] = true;
    }
    m->interleaved = out;
  }
  memory->MakeReadOnly();
  return memory;
}

}  // namespace odlm
