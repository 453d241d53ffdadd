// kernels/variants.h — which SIMD variants of the kernels this binary holds and which of them this
// CPU runs (after ODLM_CPU caps), so that a variant that goes untested says so: the kernel tests
// skip loudly, naming every compiled variant this CPU cannot run, and the test command prints the
// variants it covered. The scalar references always run and are not listed.
// Thread-safe (reads the detected CPU features once).
#pragma once

#include <string>
#include <vector>

namespace odlm::kernels {

struct KernelVariant {
  std::string family;  // "matmul" (quantized products), "matmul_float" (training), "vec_ops"
  std::string name;    // the variant's own name: "avx2", "avx512vnni", "neon", "neon_dotprod"…
  std::string needs;   // the CPU features it needs, for messages: "AVX2 FMA F16C"
  bool compiled = false;
  bool runnable = false;  // compiled, and this CPU has what it needs
};

// Every variant the kernels know, in a fixed order; `compiled` false for the other
// architecture's.
std::vector<KernelVariant> ListKernelVariants();

}  // namespace odlm::kernels
