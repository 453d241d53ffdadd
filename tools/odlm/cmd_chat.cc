// tools/odlm/cmd_chat.cc — `odlm chat`: interactive multi-turn chat with streamed answers.
//
// Reads one user message per line from standard input (a terminal or a script). Commands:
// /reset, /save FILE, /load FILE, /exit. Ctrl-C stops the current answer and keeps the chat.
// `--context FILE` gives the model a document to answer from (a "context" message that stays
// through /reset and is never dropped to make room).
// The conversation is rendered with the model's chat template each turn; the session's KV cache
// keeps the common prefix, so a turn costs only its new tokens.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/logging.h"
#include "chat_options.h"
#include "command.h"
#include "common_options.h"
#include "platform/file_util.h"
#include "speculative_options.h"
#include "tokenizer/chat_template.h"

namespace odlm::cli {
namespace {

std::atomic<bool> g_generating{false};
std::atomic<bool> g_interrupted{false};

void OnSigint(int) {
  if (g_generating.load()) {
    g_interrupted.store(true);
  } else {
    // At the prompt: leave like a shell does.
    static const char kBye[] = "\n";
    (void)!::write(STDOUT_FILENO, kBye, 1);
    ::_exit(0);
  }
}

struct ChatState {
  std::string system;
  std::vector<ChatMessage> documents;  // "context" messages, after the system prompt
  std::vector<ChatMessage> turns;      // user / assistant, alternating
};

std::vector<ChatMessage> AllMessages(const ChatState& s) {
  std::vector<ChatMessage> m;
  if (!s.system.empty()) m.push_back({"system", s.system});
  m.insert(m.end(), s.documents.begin(), s.documents.end());
  m.insert(m.end(), s.turns.begin(), s.turns.end());
  return m;
}

Status SaveChat(const ChatState& s, const std::string& path) {
  nlohmann::json j;
  j["system"] = s.system;
  j["context"] = nlohmann::json::array();
  for (const auto& d : s.documents) j["context"].push_back(d.content);
  j["messages"] = nlohmann::json::array();
  for (const auto& m : s.turns) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  return WriteFileAtomically(
      path, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

StatusOr<ChatState> LoadChat(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
    return InvalidArgumentError("'" + path + "' is not a saved chat (JSON with a messages list)");
  }
  ChatState s;
  if (j.contains("system") && j["system"].is_string()) s.system = j["system"];
  if (j.contains("context")) {
    if (!j["context"].is_array()) {
      return InvalidArgumentError("'" + path + "': context must be a list of documents");
    }
    for (const auto& d : j["context"]) {
      if (!d.is_string()) {
        return InvalidArgumentError("'" + path + "': each context document must be a string");
      }
      s.documents.push_back({"context", d.get<std::string>()});
    }
  }
  for (const auto& m : j["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
        !m["content"].is_string()) {
      return InvalidArgumentError("'" + path + "': each message needs string role and content");
    }
    const std::string role = m["role"];
    if (role != "user" && role != "assistant") {
      return InvalidArgumentError("'" + path + "': unknown role '" + role + "'");
    }
    s.turns.push_back({role, m["content"]});
  }
  return s;
}

int RunChat(int argc, char** argv) {
  CLI::App app(
      "Chat with a model, one message per line; answers stream as they come.\n"
      "commands: /reset  /save FILE  /load FILE  /exit   (Ctrl-C stops an answer)\n\n"
      "examples:\n  odlm chat -m qwen2.5-0.5b-instruct-q4_k_m.gguf --system \"Be brief.\"\n"
      "  printf 'Hi\\n/save chat.json\\n' | odlm chat -m model.gguf --temp 0\n"
      "  odlm chat --context examples/documents/lighthouse.txt   # ask about a document\n"
      "  odlm chat --context examples/documents/lighthouse.txt --lookup-ngram 3 --temp 0 -v\n"
      "      # speculative decoding: draft answer tokens from the document itself",
      argv[0]);
  ModelOptions model;
  SamplingOptions sampling;
  sampling.n_predict = 512;
  ChatPromptOptions chat;
  SpeculativeCliOptions speculative;
  std::string system;
  AddModelOptions(app, &model);
  AddSamplingOptions(app, &sampling);
  AddSpeculativeOptions(app, &speculative);
  app.add_option("--system", system, "system prompt");
  AddChatPromptOptions(app, &chat);
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  StatusOr<std::vector<ChatMessage>> documents = ReadContextMessages(chat.context_files);
  if (!documents.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], documents.status().message().c_str());
    return kExitUsage;
  }
  std::unique_ptr<Engine> engine = OpenEngineOrReport(argv[0], model);
  if (!engine) return kExitFailure;
  std::unique_ptr<Engine> draft_engine;
  SpeculativeOptions spec;
  if (!SetUpSpeculative(argv[0], speculative, model, *engine, &draft_engine, &spec)) {
    return kExitFailure;
  }
  // The draft model's own conversation, kept across turns like the model's.
  std::unique_ptr<Session> draft_session = draft_engine ? draft_engine->NewSession() : nullptr;
  spec.draft_session = draft_session.get();
  SpeculativeTuning tuning;  // what drafting learns carries over from turn to turn
  spec.tuning = &tuning;
  const Tokenizer& tok = engine->tokenizer();
  StatusOr<std::string> resolved = ResolveChatTemplate(argv[0], tok, chat.chat_template);
  if (!resolved.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], resolved.status().message().c_str());
    return kExitUsage;
  }
  const std::string template_name = std::move(resolved).value();
  const bool tty = ::isatty(STDIN_FILENO);
  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a read at the prompt is interrupted
  sigaction(SIGINT, &sa, nullptr);

  ChatState state{system, std::move(documents).value(), {}};
  auto session = engine->NewSession();
  bool warned_trim = false;
  std::string line;
  for (;;) {
    if (tty) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      state.turns.clear();
      session = engine->NewSession();
      std::printf("[conversation reset]\n");
      continue;
    }
    if (line.rfind("/save ", 0) == 0 || line.rfind("/load ", 0) == 0) {
      const std::string path = line.substr(6);
      if (line[1] == 's') {
        Status s = SaveChat(state, path);
        std::printf(s.ok() ? "[saved to %s]\n" : "[cannot save: %s]\n",
                    s.ok() ? path.c_str() : s.ToString().c_str());
      } else {
        auto loaded = LoadChat(path);
        if (loaded.ok()) {
          state = std::move(loaded).value();
          std::printf("[loaded %zu messages from %s]\n", state.turns.size(), path.c_str());
        } else {
          std::printf("[cannot load: %s]\n", loaded.status().ToString().c_str());
        }
      }
      std::fflush(stdout);
      continue;
    }
    if (line[0] == '/') {
      std::printf("[unknown command %s; commands: /reset /save FILE /load FILE /exit]\n",
                  line.c_str());
      continue;
    }
    state.turns.push_back({"user", line});
    // Render; when the context is too small, drop the oldest whole turns (never the system prompt
    // or a document).
    std::vector<int32_t> prompt;
    for (;;) {
      // Message text is tokenized as plain text: typed control-token texts cannot forge turns.
      auto encoded =
          EncodeChat(tok, template_name, AllMessages(state), /*add_generation_prompt=*/true);
      if (!encoded.ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[0], encoded.status().ToString().c_str());
        return kExitFailure;
      }
      prompt = std::move(encoded).value();
      if (static_cast<int64_t>(prompt.size()) + sampling.n_predict < engine->n_ctx() ||
          state.turns.size() <= 1) {
        break;
      }
      // Drop the oldest user turn and the answer that followed it.
      state.turns.erase(state.turns.begin(),
                        state.turns.begin() + std::min<size_t>(2, state.turns.size() - 1));
      if (!warned_trim) {
        std::fprintf(stderr, "[the context is full: dropping the oldest turns]\n");
        warned_trim = true;
      }
    }
    GenerateOptions gen = ToGenerateOptions(sampling);
    gen.trim_leading_space = true;  // a chat reply (the codi model writes its turn's space)
    gen.speculative = spec;
    g_interrupted.store(false);
    g_generating.store(true);
    auto result = Generate(*engine, *session, prompt, gen, [&](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return !g_interrupted.load();
    });
    g_generating.store(false);
    if (!result.ok()) {
      std::fprintf(stderr, "\n%s: %s\n", argv[0], result.status().ToString().c_str());
      state.turns.pop_back();
      continue;
    }
    std::printf(result->finish == FinishReason::kCancelled ? " [stopped]\n" : "\n");
    std::fflush(stdout);
    state.turns.push_back({"assistant", result->text});
    if (model.verbose) {
      const double n = static_cast<double>(result->tokens.size());
      std::fprintf(stderr,
                   "[%lld prompt tokens (%lld reused), %.0f ms to first token, %.2f tok/s]\n",
                   static_cast<long long>(result->prompt_tokens),
                   static_cast<long long>(result->reused_tokens), result->prefill_ms,
                   n > 1 && result->decode_ms > 0 ? (n - 1) * 1000.0 / result->decode_ms : 0.0);
      if (spec.enabled()) PrintSpeculativeStats(stderr, argv[0], result->speculative);
    }
  }
  return kExitOk;
}

ODLM_COMMAND("chat", "interactive multi-turn chat with streamed answers", RunChat);

}  // namespace
}  // namespace odlm::cli
