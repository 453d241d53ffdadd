// tools/odlm/cmd_quantize.cc — `odlm quantize IN.gguf OUT.gguf TYPE`: a model in another block
// type (model/quantize_model.h), as llama.cpp's llama-quantize writes it.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "command.h"
#include "common_options.h"
#include "model/quantize_model.h"

namespace odlm::cli {
namespace {

int RunQuantize(int argc, char** argv) {
  CLI::App app(
      "Write a model in another block type: 2-D weights re-encoded (llama.cpp's rules for each "
      "tensor, q4_K_M its mixed recipe), norms and biases kept in f32, metadata copied. The "
      "output loads in odlm and llama.cpp.\n\n"
      "examples:\n"
      "  odlm quantize model-f32.gguf model-q8_0.gguf q8_0\n"
      "  odlm quantize model-f16.gguf model-q4_k_m.gguf q4_K_M -t 4",
      argv[0]);
  std::string in, out, type;
  int threads = 0;
  app.add_option("input", in, "the model to convert (GGUF, any block type odlm reads)")->required();
  app.add_option("output", out, "the file to write (replaced crash-safely)")->required();
  app.add_option("type", type,
                 "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K q4_K_M")
      ->required();
  app.add_option("-t,--threads", threads, "threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  ThreadPool pool(threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  const auto start = std::chrono::steady_clock::now();
  StatusOr<QuantizeReport> r = QuantizeModelFile(in, out, type, &pool);
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], r.status().ToString().c_str());
    return r.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "wrote %s: %s, %lld tensors converted, %lld copied; tensor data %.2f MiB -> %.2f MiB "
      "(%.1f s)\n",
      out.c_str(), type.c_str(), static_cast<long long>(r->tensors_converted),
      static_cast<long long>(r->tensors_copied), static_cast<double>(r->bytes_in) / (1 << 20),
      static_cast<double>(r->bytes_out) / (1 << 20), s);
  return kExitOk;
}

ODLM_COMMAND("quantize", "write a model in another block type (q8_0, q4_K_M, ...)", RunQuantize);

}  // namespace
}  // namespace odlm::cli
