// tools/odlm/eval_model.h — `odlm eval coqa|quac --model …`: runs a model over a grounded-QA
// dataset (the engine side of eval/conversational_run.h) and writes official-format predictions.
#pragma once

#include <string>
#include <vector>

namespace odlm::cli {

struct EvalModelArgs {
  std::string task;               // "coqa" or "quac"
  std::string data;               // official dataset JSON
  std::string model;              // GGUF model ("" → odlm's default model)
  std::vector<std::string> lora;  // --adapter / --lora FILE[:SCALE], applied to every question
  std::string history = "gold";   // gold | pred
  std::string out;                // predictions file to write
  int threads = 0;
  int64_t ctx = 0;      // 0: the model's trained context (at most 4096)
  int max_tokens = 48;  // answer length cap
  int max_batch = 8;    // questions (from different dialogs) decoded together
  std::string refusal;  // eval::RunOptions::refusal ("" → answers written as given)
};

// Returns a process exit code; prints a summary (and a clear error) itself.
int RunEvalModel(const EvalModelArgs& args);

}  // namespace odlm::cli
