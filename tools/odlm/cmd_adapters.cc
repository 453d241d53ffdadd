// tools/odlm/cmd_adapters.cc — `odlm adapters info|merge|bake`: inspect LoRA adapters, merge
// several into one (linear / TIES / DARE / concatenation), fold them into a model's weights.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "adapters/lora_merge.h"
#include "command.h"
#include "common_options.h"
#include "model/llama_model.h"

namespace odlm::cli {
namespace {

struct Base {
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<LlamaModel> model;
};

bool OpenBase(const char* prog, const std::string& path, Base* b) {
  auto file = GgufFile::Open(path);
  if (!file.ok()) {
    std::fprintf(stderr, "%s: %s\n", prog, file.status().ToString().c_str());
    return false;
  }
  b->file = std::move(file).value();
  auto model = LlamaModel::Load(*b->file);
  if (!model.ok()) {
    std::fprintf(stderr, "%s: %s: %s\n", prog, path.c_str(), model.status().ToString().c_str());
    return false;
  }
  b->model = std::move(model).value();
  return true;
}

// Loads FILE[:NUMBER] arguments; the number goes to *numbers (default 1).
bool LoadAll(const char* prog, const std::vector<std::string>& args, const LoraBaseShape& base,
             std::vector<std::unique_ptr<LoraAdapter>>* out, std::vector<float>* numbers) {
  for (const std::string& arg : args) {
    AdapterSpec spec;
    std::string error;
    if (!ParseLoraSpec(arg, &spec, &error)) {
      std::fprintf(stderr, "%s: %s: %s\n", prog, arg.c_str(), error.c_str());
      return false;
    }
    auto a = LoraAdapter::Load(spec.path, base);
    if (!a.ok()) {
      std::fprintf(stderr, "%s: %s\n", prog, a.status().ToString().c_str());
      return false;
    }
    out->push_back(std::move(a).value());
    numbers->push_back(spec.scale);
  }
  return true;
}

int RunAdapters(int argc, char** argv) {
  CLI::App app{"LoRA adapters: info, merge, bake", "odlm adapters"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  odlm adapters info -m base.gguf summarize.gguf\n"
      "  odlm adapters merge -m base.gguf --method ties --density 0.5 -o sum+tr.gguf "
      "summarize.gguf:1 translate.gguf:1\n"
      "  odlm adapters bake -m base.gguf --lora summarize.gguf:1 --type q8_0 -o baked.gguf");
  std::string model, out, method = "linear", type;
  std::vector<std::string> inputs;
  int32_t rank = 0;
  float density = 0.5f;
  uint64_t seed = 1;

  CLI::App* info =
      app.add_subcommand("info", "validate adapters against a model and describe them");
  info->add_option("-m,--model", model, "base model GGUF")->required();
  info->add_option("adapters", inputs, "adapter GGUF files or PEFT directories")->required();

  CLI::App* merge =
      app.add_subcommand("merge", "merge adapters FILE[:WEIGHT] into one GGUF adapter");
  merge->add_option("-m,--model", model, "base model GGUF (for validation)")->required();
  merge->add_option("-o,--output", out, "output GGUF adapter")->required();
  merge->add_option("--method", method, "linear (task arithmetic), ties, dare or cat")
      ->check(CLI::IsMember({"linear", "task_arithmetic", "ties", "dare", "cat", "concat"}));
  merge->add_option("--rank", rank, "rank of the result (linear/ties/dare; default: largest input)")
      ->check(CLI::Range(0, 65536));
  merge->add_option("--density", density, "ties: fraction kept; dare: keep probability")
      ->check(CLI::Range(0.001f, 1.0f));
  merge->add_option("--seed", seed, "dare: random seed");
  merge->add_option("adapters", inputs, "FILE[:WEIGHT] ...")->required();

  CLI::App* bake = app.add_subcommand("bake", "fold adapters into the base weights, re-quantized");
  bake->add_option("-m,--model", model, "base model GGUF")->required();
  bake->add_option("-o,--output", out, "output model GGUF")->required();
  bake->add_option("--lora", inputs, "adapter FILE[:SCALE] (repeatable)")->required();
  bake->add_option("--type", type, "block type of the adapted matrices (default: unchanged)");

  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  const char* prog = argv[0];
  Base base;
  if (!OpenBase(prog, model, &base)) return kExitFailure;
  const LoraBaseShape shape = base.model->LoraBase();
  std::vector<std::unique_ptr<LoraAdapter>> adapters;
  std::vector<float> numbers;
  if (!LoadAll(prog, inputs, shape, &adapters, &numbers)) return kExitFailure;

  if (info->parsed()) {
    for (size_t i = 0; i < adapters.size(); ++i) {
      std::printf("%s: %s\n", inputs[i].c_str(), adapters[i]->Describe().c_str());
    }
    return kExitOk;
  }
  if (merge->parsed()) {
    MergeOptions o;
    ParseMergeMethod(method, &o.method);
    o.weights = numbers;
    o.rank = rank;
    o.density = density;
    o.seed = seed;
    std::vector<const LoraAdapter*> ptrs;
    for (const auto& a : adapters) ptrs.push_back(a.get());
    auto merged = MergeAdapters(ptrs, o, shape);
    if (!merged.ok()) {
      std::fprintf(stderr, "%s: %s\n", prog, merged.status().ToString().c_str());
      return kExitFailure;
    }
    GgufWriter w;
    Status st = (*merged)->ToGguf(&w);
    if (st.ok()) st = w.WriteFile(out);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", prog, st.ToString().c_str());
      return kExitFailure;
    }
    std::printf("wrote %s: %s\n", out.c_str(), (*merged)->Describe().c_str());
    return kExitOk;
  }
  std::optional<DType> dtype;
  if (!type.empty()) {
    dtype = ParseDType(type);
    if (!dtype) {
      std::fprintf(stderr, "%s: unknown block type '%s'\n", prog, type.c_str());
      return kExitUsage;
    }
  }
  std::vector<ActiveLora> active;
  for (size_t i = 0; i < adapters.size(); ++i) active.push_back({adapters[i].get(), numbers[i]});
  if (Status st = BakeAdapters(*base.file, active, dtype, out); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", prog, st.ToString().c_str());
    return kExitFailure;
  }
  std::printf("wrote %s\n", out.c_str());
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("adapters", "LoRA adapters: info, merge (linear/ties/dare/cat), bake into a model",
             RunAdapters);

}  // namespace odlm::cli
