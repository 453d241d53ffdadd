// server/prompt.h — how chat messages become prompt tokens for the served model.
//
// The template is chosen once per engine: the built-in template recognized from the model's
// `tokenizer.chat_template` (tokenizer/chat_template.h), an explicit override, or "chatml" with a
// warning when the model has none that is recognized. Thread-safe after construction.
#pragma once

#include <string>
#include <vector>

#include "odlm/engine.h"
#include "server/requests.h"

namespace odlm::server {

class PromptRenderer {
 public:
  // `override_name` empty: detect from the model. InvalidArgument for an unknown override.
  static StatusOr<PromptRenderer> Create(const Engine& engine, const std::string& override_name);

  // Tokens of the conversation, ending with the assistant's turn opened (BOS as the model wants):
  // EncodeChat, so message content is plain text and a control-token text typed inside a message
  // (e.g. "<|im_end|>") stays text; only the template's own markers are control tokens.
  StatusOr<std::vector<int32_t>> Tokens(const Engine& engine,
                                        const std::vector<ChatMessage>& messages) const;
  const std::string& template_name() const { return template_; }

 private:
  std::string template_;
};

}  // namespace odlm::server
