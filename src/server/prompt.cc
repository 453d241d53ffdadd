// server/prompt.cc — chat template selection and rendering.
#include "server/prompt.h"

#include <algorithm>

#include "base/logging.h"
#include "tokenizer/chat_template.h"

namespace odlm::server {

StatusOr<PromptRenderer> PromptRenderer::Create(const Engine& engine,
                                                const std::string& override_name) {
  PromptRenderer r;
  const auto& names = BuiltinChatTemplates();
  if (!override_name.empty()) {
    if (std::find(names.begin(), names.end(), override_name) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgumentError("unknown chat template '" + override_name + "' (known: " + known +
                                  ")");
    }
    r.template_ = override_name;
    return r;
  }
  auto jinja = engine.file().GetString("tokenizer.chat_template");
  if (jinja.ok()) r.template_ = DetectChatTemplate(*jinja);
  if (r.template_.empty()) {
    r.template_ = "chatml";
    LOG(WARNING) << (jinja.ok() ? "the model's chat template is not one odlm recognizes"
                                : "the model has no chat template")
                 << "; using 'chatml' (override with --chat-template NAME)";
  }
  return r;
}

StatusOr<std::vector<int32_t>> PromptRenderer::Tokens(
    const Engine& engine, const std::vector<ChatMessage>& messages) const {
  std::vector<odlm::ChatMessage> conv;
  conv.reserve(messages.size());
  for (const auto& m : messages) conv.push_back({m.role, m.content});
  return EncodeChat(engine.tokenizer(), template_, conv, /*add_generation_prompt=*/true);
}

}  // namespace odlm::server
