// tools/odlm/cmd_perplexity.cc — `odlm perplexity`: llama.cpp-compatible perplexity of a text file.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "command.h"
#include "common_options.h"
#include "odlm/perplexity.h"
#include "platform/file_util.h"

namespace odlm::cli {
namespace {

int RunPerplexity(int argc, char** argv) {
  CLI::App app(
      "Perplexity of a text file, with llama.cpp's convention (chunks of -c tokens, BOS\n"
      "first, the second half of each chunk scored), so figures compare with published ones.\n\n"
      "example:\n  odlm perplexity -m model.gguf -f wiki.test.raw -c 512 --json",
      argv[0]);
  ModelOptions model;
  std::string file;
  int64_t chunk_ctx = 512;
  bool json = false;
  AddModelOptions(app, &model);
  app.remove_option(app.get_option("--ctx-size"));
  app.add_option("-f,--file", file, "text file")->required();
  app.add_option("-c,--ctx-size", chunk_ctx, "tokens per chunk")->check(CLI::Range(4, 1 << 20));
  app.add_flag("--json", json, "print one JSON object");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  auto text = ReadFileToString(file);
  if (!text.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], text.status().ToString().c_str());
    return kExitFailure;
  }
  model.ctx = chunk_ctx;
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  const std::vector<int32_t> tokens =
      engine->tokenizer().Encode(*text, engine->tokenizer().add_bos(), false);
  auto r = ComputePerplexity(*engine, tokens, chunk_ctx);
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], r.status().ToString().c_str());
    return kExitFailure;
  }
  if (json) {
    nlohmann::json j = {{"ppl", r->ppl},
                        {"mean_nll", r->mean_nll},
                        {"n_chunks", r->n_chunks},
                        {"n_ctx", chunk_ctx},
                        {"n_scored", r->n_scored},
                        {"n_tokens", tokens.size()},
                        {"chunk_ppl", r->chunk_ppl}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    for (size_t i = 0; i < r->chunk_ppl.size(); ++i)
      std::printf("[%zu]%.4f,", i + 1, r->chunk_ppl[i]);
    std::printf("\nFinal estimate: PPL = %.4f over %lld chunks of %lld tokens (%lld scored)\n",
                r->ppl, static_cast<long long>(r->n_chunks), static_cast<long long>(chunk_ctx),
                static_cast<long long>(r->n_scored));
  }
  return kExitOk;
}

ODLM_COMMAND("perplexity", "perplexity of a text file (llama.cpp convention)", RunPerplexity);

}  // namespace
}  // namespace odlm::cli
