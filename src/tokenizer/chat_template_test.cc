// Each built-in chat template renders one fixed multi-turn conversation (system + context +
// two user turns + one assistant turn) to a hand-checked string; template detection from Jinja.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <map>

namespace odlm {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "You are terse."},    {"context", "Vancouver is in British Columbia."},
    {"user", "Where is Vancouver?"}, {"assistant", "In BC."},
    {"user", "Population?"},
};

const char kSys[] = "You are terse.\n\nContext:\nVancouver is in British Columbia.";

TEST(ChatTemplate, EachBuiltinRendersTheFixedConversation) {
  const std::string sys = kSys;
  const std::map<std::string, std::string> expected = {
      {"llama2", "[INST] <<SYS>>\n" + sys +
                     "\n<</SYS>>\n\nWhere is Vancouver? [/INST] In BC. </s><s>[INST] Population? "
                     "[/INST]"},
      {"llama3", "<|start_header_id|>system<|end_header_id|>\n\n" + sys +
                     "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhere is "
                     "Vancouver?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nIn "
                     "BC.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nPopulation?<|eot_id|"
                     "><|start_header_id|>assistant<|end_header_id|>\n\n"},
      {"chatml", "<|im_start|>system\n" + sys +
                     "<|im_end|>\n<|im_start|>user\nWhere is Vancouver?<|im_end|>\n<|im_start|>"
                     "assistant\nIn BC.<|im_end|>\n<|im_start|>user\nPopulation?<|im_end|>\n<|im_"
                     "start|>assistant\n"},
      {"qwen3", "<|im_start|>system\n" + sys +
                    "<|im_end|>\n<|im_start|>user\nWhere is Vancouver?<|im_end|>\n<|im_start|>"
                    "assistant\nIn BC.<|im_end|>\n<|im_start|>user\nPopulation?<|im_end|>\n<|im_"
                    "start|>assistant\n"},
      {"qwen3-no-think", "<|im_start|>system\n" + sys +
                             "<|im_end|>\n<|im_start|>user\nWhere is Vancouver?<|im_end|>\n<|im_"
                             "start|>assistant\nIn BC.<|im_end|>\n<|im_start|>user\nPopulation?<|"
                             "im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
      {"phi3", "<|system|>\n" + sys +
                   "<|end|>\n<|user|>\nWhere is Vancouver?<|end|>\n<|assistant|>\nIn "
                   "BC.<|end|>\n<|user|>\nPopulation?<|end|>\n<|assistant|>\n"},
      {"gemma", "<start_of_turn>user\n" + sys +
                    "\n\nWhere is Vancouver?<end_of_turn>\n<start_of_turn>model\nIn "
                    "BC.<end_of_turn>\n<start_of_turn>user\nPopulation?<end_of_turn>\n<start_of_"
                    "turn>model\n"},
      {"mistral",
       "[INST] " + sys + "\n\nWhere is Vancouver? [/INST]In BC.</s>[INST] Population? [/INST]"},
      {"zephyr", "<|system|>\n" + sys +
                     "</s>\n<|user|>\nWhere is Vancouver?</s>\n<|assistant|>\nIn "
                     "BC.</s>\n<|user|>\nPopulation?</s>\n<|assistant|>\n"},
      {"codi",
       "[CONTEXT] You are terse.[/CONTEXT] [CONTEXT] Vancouver is in British "
       "Columbia.[/CONTEXT] [USER] Where is Vancouver?[/USER] [AGENT] In BC.[/AGENT] "
       "[USER] Population?[/USER] [AGENT]"},
  };
  ASSERT_EQ(expected.size(), BuiltinChatTemplates().size());
  for (const std::string& name : BuiltinChatTemplates()) {
    auto r = RenderChat(name, kConversation, /*add_generation_prompt=*/true);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    EXPECT_EQ(*r, expected.at(name)) << name;
  }
}

TEST(ChatTemplate, GenerationPromptIsOptional) {
  const std::vector<ChatMessage> one = {{"user", "Hi"}};
  EXPECT_EQ(*RenderChat("chatml", one, false), "<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_EQ(*RenderChat("chatml", one, true),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(*RenderChat("codi", one, false), "[USER] Hi[/USER]");
  EXPECT_EQ(*RenderChat("llama3", {}, true), "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, Qwen3DropsEarlierReasoningAndKeepsTheCurrentOne) {
  const std::vector<ChatMessage> conv = {{"user", "2+2?"},
                                         {"assistant", "<think>\nadd them\n</think>\n\n4"},
                                         {"user", "and 3+3?"},
                                         {"assistant", "<think>\n\nsix\n\n</think>\n\n6"}};
  // The reply before the last user message loses its reasoning; the one after keeps it, the
  // newlines around it normalized as Qwen3's template writes them.
  EXPECT_EQ(*RenderChat("qwen3", conv, false),
            "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
            "<|im_start|>user\nand 3+3?<|im_end|>\n<|im_start|>assistant\n<think>\nsix\n"
            "</think>\n\n6<|im_end|>\n");
  // The think tags are template text (special tokens), the reasoning and answer are content.
  const auto segments = RenderChatSegments("qwen3", conv, false);
  ASSERT_TRUE(segments.ok());
  bool tag_in_content = false;
  for (const ChatSegment& s : *segments) {
    tag_in_content |= s.content && s.text.find("think>") != std::string::npos;
  }
  EXPECT_FALSE(tag_in_content);
  // A reply without reasoning is kept as it is.
  EXPECT_EQ(*RenderChat("qwen3", {{"user", "a"}, {"assistant", "b"}}, false),
            "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n");
}

TEST(ChatTemplate, UsesTheModelsSpecialTokenTexts) {
  ChatSpecialTokens t;
  t.bos = "<BOS>";
  t.eos = "<EOS>";
  const std::vector<ChatMessage> conv = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}};
  EXPECT_EQ(*RenderChat("llama2", conv, true, t), "[INST] a [/INST] b <EOS><BOS>[INST] c [/INST]");
  EXPECT_EQ(*RenderChat("zephyr", conv, false, t),
            "<|user|>\na<EOS>\n<|assistant|>\nb<EOS>\n<|user|>\nc<EOS>\n");
}

TEST(ChatTemplate, Errors) {
  auto bad_role = RenderChat("chatml", {{"robot", "x"}}, true);
  ASSERT_FALSE(bad_role.ok());
  EXPECT_NE(bad_role.status().message().find("robot"), std::string::npos);
  auto bad_name = RenderChat("vicuna", kConversation, true);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().code(), StatusCode::kNotFound);
  EXPECT_NE(bad_name.status().message().find("chatml"), std::string::npos);
}

TEST(ChatTemplate, DetectsJinjaTemplatesByMarkers) {
  EXPECT_EQ(DetectChatTemplate(
                "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"),
            "chatml");
  EXPECT_EQ(DetectChatTemplate("{%- if enable_thinking is defined and enable_thinking is false %}"
                               "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{{- "
                               "'<|im_start|>assistant\\n' }}"),
            "qwen3");
  EXPECT_EQ(DetectChatTemplate("{{ '<|start_header_id|>' + message['role'] + "
                               "'<|end_header_id|>\\n\\n' + message['content'] | trim + "
                               "'<|eot_id|>' }}"),
            "llama3");
  EXPECT_EQ(DetectChatTemplate("{{ bos_token + '[INST] ' + '<<SYS>>\\n' + system_message + "
                               "'\\n<</SYS>>\\n\\n' }}"),
            "llama2");
  EXPECT_EQ(DetectChatTemplate("{{ bos_token }}{% for m in messages %}{{ '[INST] ' + m['content'] "
                               "+ ' [/INST]' }}{% endfor %}"),
            "mistral");
  EXPECT_EQ(DetectChatTemplate("{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + "
                               "'<end_of_turn>\\n' }}"),
            "gemma");
  EXPECT_EQ(DetectChatTemplate("{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + "
                               "'<|assistant|>' + '\\n'}}"),
            "phi3");
  EXPECT_EQ(DetectChatTemplate("{{ '<|user|>\\n' + message['content'] + eos_token }}{{ "
                               "'<|assistant|>' }}"),
            "zephyr");
  EXPECT_EQ(DetectChatTemplate("[CONTEXT]{{ doc }}[/CONTEXT] [USER]{{ q }}[/USER] [AGENT]"),
            "codi");
  EXPECT_EQ(DetectChatTemplate("{{ 'USER: ' + message['content'] + ' ASSISTANT:' }}"), "");
  EXPECT_EQ(DetectChatTemplate(""), "");
}

TEST(ChatTemplate, ChoosesTheRequestedThenTheModelsThenChatml) {
  bool fell_back = true;
  EXPECT_EQ(*ChooseChatTemplate("llama3", "[CONTEXT]{{ d }}[/CONTEXT]", &fell_back), "llama3");
  EXPECT_FALSE(fell_back);
  EXPECT_EQ(*ChooseChatTemplate("", "[CONTEXT]{{ d }}[/CONTEXT] [AGENT]", &fell_back), "codi");
  EXPECT_FALSE(fell_back);
  EXPECT_EQ(*ChooseChatTemplate("", "", &fell_back), "chatml");
  EXPECT_TRUE(fell_back);
  const StatusOr<std::string> unknown = ChooseChatTemplate("vicuna", "", &fell_back);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("codi"), std::string::npos)
      << "the error lists the known names: " << unknown.status().message();
}

}  // namespace
}  // namespace odlm
