// tokenizer/chat_template.cc — the built-in chat formats (see chat_template.h for the choices).
#include "tokenizer/chat_template.h"

#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

std::string Trim(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

bool Contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// The system turn of templates that fold system and context messages together, and the user /
// assistant turns in order.
struct Folded {
  std::string system;  // "" when there are no system or context messages
  std::vector<ChatMessage> turns;
};

Folded Fold(const std::vector<ChatMessage>& messages) {
  Folded f;
  std::vector<std::string> parts;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") parts.push_back(m.content);
  }
  for (const ChatMessage& m : messages) {
    if (m.role == "context") parts.push_back("Context:\n" + m.content);
  }
  for (const std::string& p : parts) f.system += (f.system.empty() ? "" : "\n\n") + p;
  for (const ChatMessage& m : messages) {
    if (m.role == "user" || m.role == "assistant") f.turns.push_back(m);
  }
  return f;
}

Status CheckRoles(const std::vector<ChatMessage>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant" && r != "context") {
      return InvalidArgumentError("chat message " + std::to_string(i) + ": unknown role '" + r +
                                  "' (expected system, user, assistant or context)");
    }
  }
  return Status::Ok();
}

// Prefixes the folded system text to the first user turn (templates without a system role).
void FoldIntoFirstUser(Folded* f, bool trim) {
  if (f->system.empty()) return;
  for (ChatMessage& m : f->turns) {
    if (m.role == "user") {
      m.content = f->system + "\n\n" + (trim ? Trim(m.content) : m.content);
      f->system.clear();
      return;
    }
  }
  f->turns.insert(f->turns.begin(), ChatMessage{"user", f->system});
  f->system.clear();
}

std::string RenderLlama2(Folded f, bool gen, const ChatSpecialTokens& t) {
  std::string out;
  bool first = true;
  for (const ChatMessage& m : f.turns) {
    if (m.role == "user") {
      std::string content = Trim(m.content);
      if (first && !f.system.empty()) {
        content = "<<SYS>>\n" + Trim(f.system) + "\n<</SYS>>\n\n" + content;
      }
      out += (first ? "" : t.bos) + "[INST] " + content + " [/INST]";
      first = false;
    } else {
      out += " " + Trim(m.content) + " " + t.eos;
    }
  }
  if (first && !f.system.empty())
    out += "[INST] <<SYS>>\n" + Trim(f.system) + "\n<</SYS>>\n\n [/INST]";
  (void)gen;  // the reply follows "[/INST]" directly
  return out;
}

std::string RenderLlama3(const Folded& f, bool gen) {
  auto turn = [](const std::string& role, const std::string& content) {
    return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + Trim(content) + "<|eot_id|>";
  };
  std::string out;
  if (!f.system.empty()) out += turn("system", f.system);
  for (const ChatMessage& m : f.turns) out += turn(m.role, m.content);
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string RenderChatml(const Folded& f, bool gen) {
  std::string out;
  if (!f.system.empty()) out += "<|im_start|>system\n" + f.system + "<|im_end|>\n";
  for (const ChatMessage& m : f.turns) {
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  }
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

std::string RenderPhi3(const Folded& f, bool gen) {
  std::string out;
  if (!f.system.empty()) out += "<|system|>\n" + f.system + "<|end|>\n";
  for (const ChatMessage& m : f.turns) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

std::string RenderZephyr(const Folded& f, bool gen, const ChatSpecialTokens& t) {
  std::string out;
  if (!f.system.empty()) out += "<|system|>\n" + f.system + t.eos + "\n";
  for (const ChatMessage& m : f.turns) out += "<|" + m.role + "|>\n" + m.content + t.eos + "\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

std::string RenderGemma(Folded f, bool gen) {
  FoldIntoFirstUser(&f, /*trim=*/true);
  std::string out;
  for (const ChatMessage& m : f.turns) {
    out += "<start_of_turn>" + std::string(m.role == "user" ? "user" : "model") + "\n" +
           Trim(m.content) + "<end_of_turn>\n";
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

std::string RenderMistral(Folded f, bool gen, const ChatSpecialTokens& t) {
  FoldIntoFirstUser(&f, /*trim=*/false);
  std::string out;
  for (const ChatMessage& m : f.turns) {
    if (m.role == "user") {
      out += "[INST] " + m.content + " [/INST]";
    } else {
      out += m.content + t.eos;
    }
  }
  (void)gen;  // the reply follows "[/INST]" directly
  return out;
}

std::string RenderCodi(const std::vector<ChatMessage>& messages, bool gen) {
  std::string out;
  auto block = [&out](const char* tag, const std::string& content) {
    if (!out.empty()) out += " ";
    out += std::string("[") + tag + "]" + content + "[/" + tag + "]";
  };
  for (const ChatMessage& m : messages) {
    if (m.role == "system" || m.role == "context") {
      block("CONTEXT", m.content);
    } else if (m.role == "user") {
      block("USER", m.content);
    } else {
      block("AGENT", m.content);
    }
  }
  if (gen) out += out.empty() ? "[AGENT]" : " [AGENT]";
  return out;
}

}  // namespace

ChatSpecialTokens ChatSpecialTokensOf(const Tokenizer& tokenizer) {
  ChatSpecialTokens t;
  if (tokenizer.bos_id() >= 0) t.bos = tokenizer.TokenText(tokenizer.bos_id());
  if (tokenizer.eos_id() >= 0) t.eos = tokenizer.TokenText(tokenizer.eos_id());
  return t;
}

const std::vector<std::string>& BuiltinChatTemplates() {
  static const std::vector<std::string> kNames = {"llama2", "llama3",  "chatml", "phi3",
                                                  "gemma",  "mistral", "zephyr", "codi"};
  return kNames;
}

StatusOr<std::string> RenderChat(std::string_view name, const std::vector<ChatMessage>& messages,
                                 bool gen, const ChatSpecialTokens& tokens) {
  RETURN_IF_ERROR(CheckRoles(messages));
  if (name == "codi") return RenderCodi(messages, gen);
  Folded f = Fold(messages);
  if (name == "llama2") return RenderLlama2(std::move(f), gen, tokens);
  if (name == "llama3") return RenderLlama3(f, gen);
  if (name == "chatml") return RenderChatml(f, gen);
  if (name == "phi3") return RenderPhi3(f, gen);
  if (name == "gemma") return RenderGemma(std::move(f), gen);
  if (name == "mistral") return RenderMistral(std::move(f), gen, tokens);
  if (name == "zephyr") return RenderZephyr(f, gen, tokens);
  std::string known;
  for (const std::string& n : BuiltinChatTemplates()) known += (known.empty() ? "" : ", ") + n;
  return NotFoundError("chat template '" + std::string(name) +
                       "' is not built in (built in: " + known + ")");
}

std::string DetectChatTemplate(std::string_view j) {
  if (j.empty()) return "";
  if (Contains(j, "[AGENT]") || Contains(j, "[CONTEXT]")) return "codi";
  if (Contains(j, "<|start_header_id|>")) return "llama3";
  if (Contains(j, "<|im_start|>")) return "chatml";
  if (Contains(j, "<start_of_turn>")) return "gemma";
  if (Contains(j, "<|assistant|>") && Contains(j, "<|end|>")) return "phi3";
  if (Contains(j, "<|assistant|>") && Contains(j, "<|user|>")) return "zephyr";
  if (Contains(j, "[INST]")) return Contains(j, "<<SYS>>") ? "llama2" : "mistral";
  return "";
}

}  // namespace odlm
