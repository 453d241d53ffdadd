// tools/odlm/chat_options.h — what `odlm run` and `odlm chat` share when they speak to a model
// through its chat template: choosing the template and reading grounding documents
// (`--context FILE`, rendered as "context" messages, see tokenizer/chat_template.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/chat_template.h"

namespace odlm {
class Tokenizer;
}

namespace odlm::cli {

struct ChatPromptOptions {
  std::string chat_template;               // empty: the model's own
  std::vector<std::string> context_files;  // each file one "context" message, in order
};

// Adds --chat-template and --context (repeatable) to `app`.
void AddChatPromptOptions(CLI::App& app, ChatPromptOptions* o);

// ChooseChatTemplate (tokenizer/chat_template.h) for `tokenizer`'s model: `requested`, else the
// model's own, else chatml with a warning on stderr prefixed by `prog`. The error names the
// known templates.
StatusOr<std::string> ResolveChatTemplate(const char* prog, const Tokenizer& tokenizer,
                                          const std::string& requested);

// One "context" message per file, in order. InvalidArgument naming the file when one cannot be
// read, is empty, or is not UTF-8 text (a document is given as text, not as a binary file).
StatusOr<std::vector<ChatMessage>> ReadContextMessages(const std::vector<std::string>& files);

}  // namespace odlm::cli
