// kernels/variants_test.cc — the kernels' SIMD variant coverage on this CPU: prints what the
// kernel tests exercise here and skips loudly, naming each compiled variant this CPU cannot run
// (its tests then compare nothing); and the list agrees with each family's own selection.
#include "kernels/variants.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "kernels/matmul_float_ops.h"
#include "kernels/matmul_ops.h"

namespace odlm::kernels {
namespace {

std::set<std::string> Runnable(const std::string& family) {
  std::set<std::string> out;
  for (const KernelVariant& v : ListKernelVariants()) {
    if (v.family == family && v.runnable) out.insert(v.name);
  }
  return out;
}

TEST(KernelVariants, AgreeWithEachFamilysSelection) {
  const internal::MatMulOps* ops[3];
  const int n = internal::RunnableOps(DType::kQ8_0, ops);
  std::set<std::string> matmul;
  for (int i = 1; i < n; ++i) matmul.insert(std::string(ops[i]->variant));  // [0] is the reference
  EXPECT_EQ(matmul, Runnable("matmul"));
  const internal::MatMulFloatOps* fops[3];
  const int nf = internal::RunnableFloatOps(fops);
  std::set<std::string> matmul_float;
  for (int i = 1; i < nf; ++i) matmul_float.insert(std::string(fops[i]->variant));
  EXPECT_EQ(matmul_float, Runnable("matmul_float"));
}

TEST(KernelVariants, EveryCompiledVariantRunsOnThisCpu) {
  std::string covered, untested;
  for (const KernelVariant& v : ListKernelVariants()) {
    if (!v.compiled) continue;
    const std::string name = v.family + "/" + v.name;
    if (v.runnable) {
      covered += " " + name;
    } else {
      untested += (untested.empty() ? "" : ", ") + name + " (needs " + v.needs + ")";
    }
  }
  std::printf("kernel variants tested on this CPU: the scalar references%s\n", covered.c_str());
  if (!untested.empty()) {
    std::printf("kernel variants NOT tested on this CPU: %s\n", untested.c_str());
    GTEST_SKIP() << "compiled but not run on this CPU, so untested here: " << untested;
  }
}

}  // namespace
}  // namespace odlm::kernels
