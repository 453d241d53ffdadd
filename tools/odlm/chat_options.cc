// tools/odlm/chat_options.cc — see chat_options.h.
#include "chat_options.h"

#include <cstdio>

#include "base/utf8.h"
#include "platform/file_util.h"
#include "tokenizer/tokenizer.h"

namespace odlm::cli {

void AddChatPromptOptions(CLI::App& app, ChatPromptOptions* o) {
  app.add_option("--chat-template", o->chat_template,
                 "template: llama2 llama3 chatml phi3 gemma mistral zephyr codi (default: the "
                 "model's)");
  app.add_option("--context", o->context_files,
                 "a document to answer from, given to the model as a context message "
                 "(repeatable: one message per file)")
      ->allow_extra_args(false);
}

StatusOr<std::string> ResolveChatTemplate(const char* prog, const Tokenizer& tokenizer,
                                          const std::string& requested) {
  bool fell_back = false;
  ASSIGN_OR_RETURN(std::string name,
                   ChooseChatTemplate(requested, tokenizer.vocab().chat_template, &fell_back));
  if (fell_back) {
    std::fprintf(stderr, "%s: warning: the model's chat template is not recognized; using %s\n",
                 prog, name.c_str());
  }
  return name;
}

StatusOr<std::vector<ChatMessage>> ReadContextMessages(const std::vector<std::string>& files) {
  std::vector<ChatMessage> messages;
  for (const std::string& path : files) {
    StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) {
      return InvalidArgumentError("--context '" + path + "': " + text.status().message());
    }
    if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
      return InvalidArgumentError("--context '" + path + "' is empty");
    }
    if (!IsValidUtf8(*text) || text->find('\0') != std::string::npos) {
      return InvalidArgumentError("--context '" + path + "' is not UTF-8 text");
    }
    // Trailing newlines are the file's, not the document's.
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    messages.push_back({"context", std::move(text).value()});
  }
  return messages;
}

}  // namespace odlm::cli
