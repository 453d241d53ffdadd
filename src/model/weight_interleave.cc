// model/weight_interleave.cc — which matrices get an interleaved copy, and making them.
#include "model/weight_interleave.h"

#include <map>
#include <utility>
#include <vector>

#include "kernels/interleave.h"

namespace odlm {
namespace {

// The views MatMul reads (a stored tensor may back several); `token_embd` is only looked up.
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

using ViewKey = std::pair<const void*, int64_t>;  // (data, rows): what identifies a view's bytes

// Where each distinct view that pays goes in the region, and the region's size.
struct Layout {
  std::map<ViewKey, int64_t> offsets;
  std::vector<kernels::WeightMatrix> distinct;  // first view of each key, in order
  int64_t total = 0;
};

Layout Plan(ModelWeights* w) {
  Layout p;
  for (kernels::WeightMatrix* m : MultipliedViews(w)) {
    if (!Pays(*m)) continue;
    if (p.offsets.try_emplace({m->data, m->rows}, p.total).second) {
      p.distinct.push_back(*m);
      p.total += kernels::InterleavedBytes(*m);
    }
  }
  return p;
}

}  // namespace

StatusOr<std::unique_ptr<HugePageMemory>> InterleaveWeights(ModelWeights* weights, ThreadPool* pool,
                                                            const GgufFile* file) {
  const Layout plan = Plan(weights);
  if (plan.total == 0) return std::unique_ptr<HugePageMemory>();
  ASSIGN_OR_RETURN(std::unique_ptr<HugePageMemory> memory,
                   HugePageMemory::Allocate(static_cast<size_t>(plan.total)));
  for (const kernels::WeightMatrix& m : plan.distinct) {
    kernels::InterleaveRows(m, memory->data() + plan.offsets.at({m.data, m.rows}), pool);
    if (file != nullptr) file->DropPages(m.data, static_cast<size_t>(m.rows * m.row_bytes));
  }
  for (kernels::WeightMatrix* m : MultipliedViews(weights)) {
    if (Pays(*m)) m->interleaved = memory->data() + plan.offsets.at({m->data, m->rows});
  }
  memory->MakeReadOnly();
  return memory;
}

}  // namespace odlm
