// tools/odlm/eval_model.h — `odlm eval coqa|quac`: runs a model over a grounded-QA dataset and
// writes official-format predictions: a local GGUF model (`--model FILE`, the engine side of
// eval/conversational_run.h) or any OpenAI-compatible chat endpoint (`--endpoint URL --model
// NAME`: vLLM, llama.cpp's server, ollama, `odlm serve`).
#pragma once

#include <string>
#include <vector>

namespace odlm::cli {

struct EvalModelArgs {
  std::string task;      // "coqa" or "quac"
  std::string data;      // official dataset JSON
  std::string model;     // GGUF model ("" → odlm's default model); with endpoint: its name
  std::string endpoint;  // "" → the local model; else the server's base URL
  std::vector<std::string> lora;  // --adapter / --lora FILE[:SCALE], applied to every question
  std::string history = "gold";   // gold | pred
  std::string out;                // predictions file to write
  int threads = 0;
  int64_t ctx = 0;            // 0: the model's trained context (at most 4096)
  int max_tokens = 48;        // answer length cap
  int max_batch = 8;          // questions (from different dialogs) decoded together
  std::string refusal;        // eval::RunOptions::refusal ("" → answers written as given)
  bool show_prompts = false;  // print each prompt (local) or request body (endpoint) to stderr
  std::string api_key_env;    // endpoint: the variable holding its API key (Bearer); "" → none
  double timeout = 180;       // endpoint: seconds to wait for one reply
};

// Each returns a process exit code and prints a summary (and a clear error) itself; nothing is
// written unless every question was answered.
int RunEvalModel(const EvalModelArgs& args);     // the local model (cmd_eval_model.cc)
int RunEvalEndpoint(const EvalModelArgs& args);  // args.endpoint (cmd_eval_endpoint.cc)

}  // namespace odlm::cli
