// tools/odlm/cmd_run.cc — `odlm run`: one-shot generation from a prompt. With `--context FILE`
// the prompt is a question about the document(s): both go through the model's chat template
// (context messages, then the prompt as the user's message) and the reply is printed.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "chat_options.h"
#include "command.h"
#include "common_options.h"
#include "compose_options.h"
#include "speculative_options.h"

namespace odlm::cli {
namespace {

// `odlm run --compose`: the composite's final text (streamed), or with --json one object.
int RunComposeAndPrint(const char* prog, Engine& engine, Session& session,
                       const std::string& prompt, const ComposeCliOptions& o,
                       const GenerateOptions& gen, bool bos, bool special, bool json) {
  ComposeSpec spec;
  std::string error;
  if (!BuildComposeSpec(o, engine, &spec, &error)) {
    std::fprintf(stderr, "%s: %s\n", prog, error.c_str());
    return kExitUsage;
  }
  spec.add_bos = bos;
  spec.parse_special = special;
  MergedAdapterCache cache;
  auto result = RunComposite(engine, session, prompt, spec, gen, &cache, [&](std::string_view t) {
    if (!json) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!result.ok()) {
    std::fprintf(stderr, "\n%s: %s\n", prog, result.status().ToString().c_str());
    return kExitFailure;
  }
  const std::string out = json ? ComposeResultJson(*result).dump(
                                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
                               : "";
  std::printf("%s\n", out.c_str());
  return kExitOk;
}

int RunRun(int argc, char** argv) {
  CLI::App app(
      "Generate a continuation of a prompt.\n\n"
      "examples:\n"
      "  odlm run -m model.gguf -p \"Once upon a time\" -n 64\n"
      "  odlm run -m model.gguf -f prompt.txt --temp 0 --ids\n"
      "  echo \"Hello\" | odlm run -m model.gguf --seed 7\n"
      "  odlm run --context examples/documents/lighthouse.txt -p \"When was it built?\"\n"
      "  odlm run --context examples/documents/lighthouse.txt -p \"When was it built?\" \\\n"
      "      --temp 0 --lookup-ngram 3 --draft-max 8 -v   # speculative: drafts from the document\n"
      "  odlm run -m big.gguf --draft-model small.gguf --temp 0 -p \"Once upon a time\" -v\n"
      "  odlm run -m model.gguf --lora sum=summarize.gguf --lora fr=translate.gguf \\\n"
      "      --compose sum,fr --mode two-pass --stage-template 'French: {output}' -f doc.txt "
      "--json",
      argv[0]);
  ModelOptions model;
  SamplingOptions sampling;
  ComposeCliOptions compose;
  ChatPromptOptions chat;
  SpeculativeCliOptions speculative;
  std::string prompt, prompt_file;
  bool ids = false, no_bos = false, special = false, json = false;
  AddModelOptions(app, &model);
  AddSamplingOptions(app, &sampling);
  AddComposeOptions(app, &compose, /*required=*/false);
  AddSpeculativeOptions(app, &speculative);
  app.add_flag("--json", json,
               "with --compose: print one JSON object (final text, each stage's text, tokens and "
               "prefill/decode ms) instead of the text");
  auto* p = app.add_option("-p,--prompt", prompt, "prompt text (else -f, else standard input)");
  app.add_option("-f,--file", prompt_file, "read the prompt from a file")->excludes(p);
  app.add_flag("--ids", ids, "print the generated token ids separated by spaces instead of text");
  app.add_flag("--no-bos", no_bos, "do not add the BOS token even if the model asks for it");
  app.add_flag("--special", special,
               "match special tokens written in the prompt (e.g. <|im_start|>)");
  AddChatPromptOptions(app, &chat);
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  // A chat prompt: --context, or --chat-template alone (the prompt as one user message).
  const bool as_chat = !chat.context_files.empty() || !chat.chat_template.empty();
  if (as_chat && (special || no_bos || !compose.compose.empty())) {
    std::fprintf(stderr,
                 "%s: --context/--chat-template render the prompt with the chat template; they do "
                 "not combine with --special, --no-bos or --compose\n",
                 argv[0]);
    return kExitUsage;
  }
  StatusOr<std::vector<ChatMessage>> messages = ReadContextMessages(chat.context_files);
  if (!messages.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], messages.status().message().c_str());
    return kExitUsage;
  }

  if (!prompt_file.empty()) {
    std::ifstream in(prompt_file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read prompt file '%s'\n", argv[0], prompt_file.c_str());
      return kExitFailure;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    prompt = ss.str();
  } else if (app.count("--prompt") == 0) {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    prompt = ss.str();
  }
  if (speculative.requested() && !compose.compose.empty()) {
    std::fprintf(stderr, "%s: speculative decoding does not combine with --compose\n", argv[0]);
    return kExitUsage;
  }
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  std::unique_ptr<Engine> draft_engine;
  SpeculativeOptions spec;
  if (!SetUpSpeculative(argv[0], speculative, model, *engine, &draft_engine, &spec)) {
    return kExitFailure;
  }
  const Tokenizer& tok = engine->tokenizer();
  std::vector<int32_t> tokens;
  if (as_chat) {
    StatusOr<std::string> name = ResolveChatTemplate(argv[0], tok, chat.chat_template);
    if (!name.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], name.status().message().c_str());
      return kExitUsage;
    }
    while (!prompt.empty() && (prompt.back() == '\n' || prompt.back() == '\r')) prompt.pop_back();
    messages->push_back({"user", prompt});
    StatusOr<std::vector<int32_t>> encoded =
        EncodeChat(tok, *name, *messages, /*add_generation_prompt=*/true);
    if (!encoded.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], encoded.status().ToString().c_str());
      return kExitFailure;
    }
    tokens = std::move(encoded).value();
  } else {
    tokens = tok.Encode(prompt, tok.add_bos() && !no_bos, special);
  }
  if (tokens.empty()) {
    std::fprintf(stderr, "%s: the prompt is empty and the model adds no BOS token\n", argv[0]);
    return kExitUsage;
  }
  auto session = engine->NewSession();
  GenerateOptions gen = ToGenerateOptions(sampling);
  gen.trim_leading_space = as_chat;  // a chat reply (the codi model writes its turn's space)
  gen.speculative = spec;
  if (!compose.compose.empty()) {
    if (ids) {
      std::fprintf(stderr, "%s: --ids does not apply to --compose (use --json)\n", argv[0]);
      return kExitUsage;
    }
    return RunComposeAndPrint(argv[0], *engine, *session, prompt, compose, gen, !no_bos, special,
                              json);
  }
  bool first_id = true;
  auto result = Generate(*engine, *session, tokens, gen, [&](std::string_view text) {
    if (!ids) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!result.ok()) {
    std::fprintf(stderr, "\n%s: %s\n", argv[0], result.status().ToString().c_str());
    return kExitFailure;
  }
  if (ids) {
    for (int32_t id : result->tokens) {
      std::printf(first_id ? "%d" : " %d", id);
      first_id = false;
    }
  }
  std::printf("\n");
  if (model.verbose) {
    const double n = static_cast<double>(result->tokens.size());
    std::fprintf(stderr,
                 "%s: prompt %lld tokens (%lld reused), %.1f ms to first token; %zu generated, "
                 "%.2f tok/s; finish: %s\n",
                 argv[0], static_cast<long long>(result->prompt_tokens),
                 static_cast<long long>(result->reused_tokens), result->prefill_ms,
                 result->tokens.size(),
                 n > 1 && result->decode_ms > 0 ? (n - 1) * 1000.0 / result->decode_ms : 0.0,
                 std::string(FinishReasonName(result->finish)).c_str());
    if (spec.enabled()) PrintSpeculativeStats(stderr, argv[0], result->speculative);
  }
  return kExitOk;
}

ODLM_COMMAND("run", "generate a continuation of a prompt", RunRun);

}  // namespace
}  // namespace odlm::cli
