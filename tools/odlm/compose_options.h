// tools/odlm/compose_options.h — the composite-task options shared by `odlm run` and
// `odlm bench-compose`: --compose STAGES, --mode, --stage-template, --merge-method, --merge-rank.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "odlm/compose.h"
#include "odlm/engine.h"

namespace odlm::cli {

struct ComposeCliOptions {
  // "a,b": stage 1 uses adapter a, stage 2 adapter b; "a+c,b": stage 1 uses a and c together.
  // Names are those of --lora [NAME=]FILE[:SCALE]; each adapter runs at its --lora scale.
  std::string compose;
  std::string mode = "two-pass";
  // One: the template of every stage after the first; several: one per later stage, in order.
  std::vector<std::string> stage_templates;
  std::string merge_method = "linear";
  int32_t merge_rank = 0;
};

// Adds the options; `required`: --compose must be given (bench-compose).
void AddComposeOptions(CLI::App& app, ComposeCliOptions* o, bool required);

// Builds the spec from the options and the engine's registered adapters (scales from --lora).
// False with *error set for an unknown name, an empty stage, or a bad template count.
bool BuildComposeSpec(const ComposeCliOptions& o, const Engine& engine, ComposeSpec* spec,
                      std::string* error);

// {"mode", "text", "merge_ms", "total_ms", "prompt_tokens", "completion_tokens",
//  "stages": [{"adapters": [{"name","scale"}], "prompt", "text", "prompt_tokens",
//              "completion_tokens", "prefill_ms", "decode_ms", "finish"}]}
nlohmann::json ComposeResultJson(const ComposeResult& r);

}  // namespace odlm::cli
