// tokenizer/chat_template.h — renders a conversation into the prompt text a chat model expects.
//
// Built-in templates (no Jinja interpreter in the core): "llama2", "llama3" (also Llama 3.2),
// "chatml" (Qwen2), "qwen3" (ChatML with "<think>" reasoning: dropped from replies before the last
// user message, as Qwen3's own template does) and "qwen3-no-think" (its generation prompt ends with
// an empty think block: Qwen3's enable_thinking = false), "phi3", "gemma" (Gemma 2 and 3),
// "mistral", "zephyr", and odlm's CoDi role format "codi":
//   [CONTEXT] …[/CONTEXT] [USER] …[/USER] [AGENT] …[/AGENT]
// each turn's content after one space (CodiTurnContent), the generation prompt ending at "[AGENT]".
// A model's own Jinja template (`tokenizer.chat_template`) is recognized by its distinctive
// markers (DetectChatTemplate); the caller warns and falls back when it is not recognized.
//
// Prompt tokens come from EncodeChat, the one way every caller (server, `odlm chat`, eval) turns a
// conversation into tokens: the template is rendered as segments, its own text tokenized with
// special tokens parsed and message content as plain text, so a message that contains
// "<|im_end|>", "</s>" or "[INST]" cannot forge a turn. RenderChat's string is for display only;
// tokenizing it with parse_special would reopen that hole.
//
// Roles: "system", "user", "assistant", and "context" (a grounding document). Choices made here:
// - The rendered text never starts with the BOS token: EncodeChat adds it as the tokenizer wants.
//   BOS/EOS inside the conversation (llama2's "</s><s>", zephyr's "</s>") are template text.
// - The "Context:\n" label and the blank lines that join folded messages are template text.
// - Context messages: "codi" renders each as its own [CONTEXT] block where it occurs (and a system
//   message as a [CONTEXT] block too). Every other template folds the system messages and then all
//   context messages, each introduced by "Context:\n", joined by blank lines, into one system turn
//   at the start; templates without a system role (gemma, mistral) put that text, followed by a
//   blank line, before the first user message.
// - Content is trimmed of surrounding whitespace where the model's official template trims it
//   (llama2, llama3, gemma) and kept verbatim elsewhere.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm {

class Tokenizer;

struct ChatMessage {
  std::string role;  // system | user | assistant | context
  std::string content;
};

// The special-token texts a template needs from the model.
struct ChatSpecialTokens {
  std::string bos = "<s>";
  std::string eos = "</s>";
};
// The BOS/EOS texts of `tokenizer` (defaults where the model has none).
ChatSpecialTokens ChatSpecialTokensOf(const Tokenizer& tokenizer);

// The names RenderChat accepts, in a stable order.
const std::vector<std::string>& BuiltinChatTemplates();

// One piece of a rendered conversation: the template's own text (role markers, separators,
// BOS/EOS texts) or text taken from a message (content = true). Adjacent pieces are of different
// kinds and none is empty.
struct ChatSegment {
  std::string text;
  bool content = false;
};

// Renders `messages` with the built-in template `template_name`; with add_generation_prompt, ends
// with the header that starts the assistant's reply. NotFound for an unknown template name,
// InvalidArgument naming the message index for an unknown role.
StatusOr<std::vector<ChatSegment>> RenderChatSegments(std::string_view template_name,
                                                      const std::vector<ChatMessage>& messages,
                                                      bool add_generation_prompt,
                                                      const ChatSpecialTokens& tokens = {});
// The concatenated segments, for display and logs (errors as RenderChatSegments).
StatusOr<std::string> RenderChat(std::string_view template_name,
                                 const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt, const ChatSpecialTokens& tokens = {});

// The prompt tokens of `messages` (Tokenizer::EncodeSegments): BOS first when the tokenizer adds
// one and the template does not write it, template text with special tokens parsed, content as
// plain text. For content holding no control-token text the ids equal Encode(RenderChat(…), …,
// parse_special = true). Uses the tokenizer's BOS/EOS texts (ChatSpecialTokensOf). Errors as
// RenderChatSegments. Cost: one render plus one Encode of the text.
StatusOr<std::vector<int32_t>> EncodeChat(const Tokenizer& tokenizer,
                                          std::string_view template_name,
                                          const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt);

// The text of one CoDi turn between its two tags: one space, then `content` without surrounding
// whitespace. The space makes a turn's first word the same tokens as inside a sentence
// ("[AGENT] Dathzia" gives " Dathzia" as the document does, "[AGENT]Dathzia" would not), so a
// student copies answers from the document token for token; the generation prompt ends at
// "[AGENT]" and the model writes the space itself. `odlm codi export --format odlm` writes its
// turns with this too, so training text and prompts agree. Pure.
std::string CodiTurnContent(std::string_view content);

// The built-in template a Jinja chat template corresponds to ("llama2", "llama3", "chatml",
// "phi3", "gemma", "mistral", "zephyr", "codi"), or "" when none is recognized.
std::string DetectChatTemplate(std::string_view jinja_template);

// The built-in template to render with, the one rule for every caller (CLI, server, eval):
// `requested` when not empty (InvalidArgument listing the known names if it is not one of them),
// else the one `model_jinja` (the model's tokenizer.chat_template, "" when it has none) is
// recognized as, else "chatml" with *fell_back set so that the caller can warn.
StatusOr<std::string> ChooseChatTemplate(std::string_view requested, std::string_view model_jinja,
                                         bool* fell_back);

}  // namespace odlm
