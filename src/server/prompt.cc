// server/prompt.cc — chat template selection and rendering.
#include "server/prompt.h"

#include "base/logging.h"
#include "tokenizer/chat_template.h"

namespace odlm::server {

StatusOr<PromptRenderer> PromptRenderer::Create(const Engine& engine,
                                                const std::string& override_name) {
  PromptRenderer r;
  auto jinja = engine.file().GetString("tokenizer.chat_template");
  bool fell_back = false;
  ASSIGN_OR_RETURN(r.template_,
                   ChooseChatTemplate(override_name, jinja.ok() ? *jinja : "", &fell_back));
  if (fell_back) {
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
