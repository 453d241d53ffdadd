// train/params.cc — gradient bookkeeping over a ParamSet.
#include "train/params.h"

#include <algorithm>
#include <cmath>

namespace odlm::train {

void ZeroGrads(ParamSet* params) {
  for (Param& p : *params) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

double GradNorm(const ParamSet& params) {
  double ss = 0.0;
  for (const Param& p : params) {
    for (float g : p.grad) ss += static_cast<double>(g) * g;
  }
  return std::sqrt(ss);
}

int64_t CountParams(const ParamSet& params) {
  int64_t n = 0;
  for (const Param& p : params) n += p.n;
  return n;
}

}  // namespace odlm::train
