// tokenizer/chat_template.cc — the built-in chat formats (see chat_template.h for the choices).
//
// Each template writes a list of segments, never one string: template text and message content
// stay apart until EncodeChat tokenizes them (content without special-token parsing).
#include "tokenizer/chat_template.h"

#include <algorithm>

#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

constexpr std::string_view kSpace = " \t\n\r\f\v";

bool Contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// Rendered text under construction: adjacent pieces of the same kind are joined, empty ones
// dropped, so template text between two contents is always one segment.
class Text {
 public:
  Text& T(std::string_view s) { return Add(s, false); }  // template text
  Text& C(std::string_view s) { return Add(s, true); }   // message content
  Text& Add(const Text& other) {
    for (const ChatSegment& s : other.segs_) Add(s.text, s.content);
    return *this;
  }
  bool empty() const { return segs_.empty(); }
  // The text with surrounding whitespace removed, across segment boundaries.
  Text Trimmed() const {
    Text t = *this;
    auto& v = t.segs_;
    while (!v.empty()) {
      const size_t b = v.front().text.find_first_not_of(kSpace);
      if (b != std::string::npos) {
        v.front().text.erase(0, b);
        break;
      }
      v.erase(v.begin());
    }
    while (!v.empty()) {
      const size_t e = v.back().text.find_last_not_of(kSpace);
      if (e != std::string::npos) {
        v.back().text.erase(e + 1);
        break;
      }
      v.pop_back();
    }
    return t;
  }
  std::vector<ChatSegment> Take() { return std::move(segs_); }

 private:
  Text& Add(std::string_view s, bool content) {
    if (s.empty()) return *this;
    if (!segs_.empty() && segs_.back().content == content) {
      segs_.back().text += s;
    } else {
      segs_.push_back({std::string(s), content});
    }
    return *this;
  }
  std::vector<ChatSegment> segs_;
};

Text Content(std::string_view s) { return Text().C(s); }

struct Turn {
  std::string role;  // user | assistant
  Text content;
};

// The system turn of templates that fold system and context messages together, and the user /
// assistant turns in order.
struct Folded {
  Text system;  // empty when there are no system or context messages (or all are empty)
  std::vector<Turn> turns;
};

Folded Fold(const std::vector<ChatMessage>& messages) {
  Folded f;
  std::vector<Text> parts;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") parts.push_back(Content(m.content));
  }
  for (const ChatMessage& m : messages) {
    if (m.role == "context") parts.push_back(Text().T("Context:\n").C(m.content));
  }
  for (const Text& p : parts) {
    if (!f.system.empty()) f.system.T("\n\n");
    f.system.Add(p);
  }
  for (const ChatMessage& m : messages) {
    if (m.role == "user" || m.role == "assistant") f.turns.push_back({m.role, Content(m.content)});
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
  for (Turn& m : f->turns) {
    if (m.role == "user") {
      Text merged = f->system;
      merged.T("\n\n").Add(trim ? m.content.Trimmed() : m.content);
      m.content = std::move(merged);
      f->system = Text();
      return;
    }
  }
  f->turns.insert(f->turns.begin(), Turn{"user", f->system});
  f->system = Text();
}

Text RenderLlama2(const Folded& f, const ChatSpecialTokens& t) {
  Text out;
  bool first = true;
  for (const Turn& m : f.turns) {
    if (m.role == "user") {
      out.T(first ? "" : t.bos).T("[INST] ");
      if (first && !f.system.empty()) {
        out.T("<<SYS>>\n").Add(f.system.Trimmed()).T("\n<</SYS>>\n\n");
      }
      out.Add(m.content.Trimmed()).T(" [/INST]");
      first = false;
    } else {
      out.T(" ").Add(m.content.Trimmed()).T(" ").T(t.eos);
    }
  }
  if (first && !f.system.empty()) {
    out.T("[INST] <<SYS>>\n").Add(f.system.Trimmed()).T("\n<</SYS>>\n\n [/INST]");
  }
  // The reply follows "[/INST]" directly: no generation prompt.
  return out;
}

Text RenderLlama3(const Folded& f, bool gen) {
  Text out;
  auto turn = [&out](std::string_view role, const Text& content) {
    out.T("<|start_header_id|>").T(role).T("<|end_header_id|>\n\n");
    out.Add(content.Trimmed()).T("<|eot_id|>");
  };
  if (!f.system.empty()) turn("system", f.system);
  for (const Turn& m : f.turns) turn(m.role, m.content);
  if (gen) out.T("<|start_header_id|>assistant<|end_header_id|>\n\n");
  return out;
}

Text RenderChatml(const Folded& f, bool gen) {
  Text out;
  if (!f.system.empty()) out.T("<|im_start|>system\n").Add(f.system).T("<|im_end|>\n");
  for (const Turn& m : f.turns) {
    out.T("<|im_start|>").T(m.role).T("\n").Add(m.content).T("<|im_end|>\n");
  }
  if (gen) out.T("<|im_start|>assistant\n");
  return out;
}

// Qwen3: ChatML whose assistant replies may hold "<think>…</think>" reasoning. As the official
// template does, a reply's reasoning is dropped from turns before the last user message and
// re-rendered as "<think>\n…\n</think>\n\n" after it; with no_think the generation prompt ends
// with an empty think block (the official enable_thinking = false).
Text RenderQwen3(const std::vector<ChatMessage>& messages, bool gen, bool no_think) {
  Folded f = Fold(messages);
  size_t last_user = 0;  // index in f.turns
  for (size_t i = 0; i < f.turns.size(); ++i) {
    if (f.turns[i].role == "user") last_user = i;
  }
  size_t turn = 0;
  for (const ChatMessage& m : messages) {
    if (m.role != "user" && m.role != "assistant") continue;
    const size_t i = turn++;
    const size_t close = m.content.find("</think>");
    if (m.role != "assistant" || close == std::string::npos) continue;
    std::string answer = m.content.substr(close + 8);
    answer.erase(0, answer.find_first_not_of('\n'));
    std::string reasoning = m.content.substr(0, close);
    if (const size_t open = reasoning.rfind("<think>"); open != std::string::npos) {
      reasoning.erase(0, open + 7);
    }
    reasoning.erase(0, reasoning.find_first_not_of('\n'));
    reasoning.erase(reasoning.find_last_not_of('\n') + 1);
    Text content;
    if (i > last_user) content.T("<think>\n").C(reasoning).T("\n</think>\n\n");
    f.turns[i].content = content.C(answer);
  }
  Text out = RenderChatml(f, gen);
  if (gen && no_think) out.T("<think>\n\n</think>\n\n");
  return out;
}

Text RenderPhi3(const Folded& f, bool gen) {
  Text out;
  if (!f.system.empty()) out.T("<|system|>\n").Add(f.system).T("<|end|>\n");
  for (const Turn& m : f.turns) out.T("<|").T(m.role).T("|>\n").Add(m.content).T("<|end|>\n");
  if (gen) out.T("<|assistant|>\n");
  return out;
}

Text RenderZephyr(const Folded& f, bool gen, const ChatSpecialTokens& t) {
  Text out;
  if (!f.system.empty()) out.T("<|system|>\n").Add(f.system).T(t.eos).T("\n");
  for (const Turn& m : f.turns) out.T("<|").T(m.role).T("|>\n").Add(m.content).T(t.eos).T("\n");
  if (gen) out.T("<|assistant|>\n");
  return out;
}

Text RenderGemma(Folded f, bool gen) {
  FoldIntoFirstUser(&f, /*trim=*/true);
  Text out;
  for (const Turn& m : f.turns) {
    out.T("<start_of_turn>").T(m.role == "user" ? "user" : "model").T("\n");
    out.Add(m.content.Trimmed()).T("<end_of_turn>\n");
  }
  if (gen) out.T("<start_of_turn>model\n");
  return out;
}

Text RenderMistral(Folded f, const ChatSpecialTokens& t) {
  FoldIntoFirstUser(&f, /*trim=*/false);
  Text out;
  for (const Turn& m : f.turns) {
    if (m.role == "user") {
      out.T("[INST] ").Add(m.content).T(" [/INST]");
    } else {
      out.Add(m.content).T(t.eos);
    }
  }
  // The reply follows "[/INST]" directly: no generation prompt.
  return out;
}

Text RenderCodi(const std::vector<ChatMessage>& messages, bool gen) {
  Text out;
  bool first = true;
  for (const ChatMessage& m : messages) {
    const char* tag = m.role == "system" || m.role == "context" ? "CONTEXT"
                      : m.role == "user"                        ? "USER"
                                                                : "AGENT";
    out.T(first ? "" : " ")
        .T("[")
        .T(tag)
        .T("]")
        .C(CodiTurnContent(m.content))
        .T("[/")
        .T(tag)
        .T("]");
    first = false;
  }
  if (gen) out.T(first ? "[AGENT]" : " [AGENT]");
  return out;
}

}  // namespace

std::string CodiTurnContent(std::string_view content) {
  const size_t b = content.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return " ";
  const size_t e = content.find_last_not_of(kSpace);
  return " " + std::string(content.substr(b, e - b + 1));
}

ChatSpecialTokens ChatSpecialTokensOf(const Tokenizer& tokenizer) {
  ChatSpecialTokens t;
  if (tokenizer.bos_id() >= 0) t.bos = tokenizer.TokenText(tokenizer.bos_id());
  if (tokenizer.eos_id() >= 0) t.eos = tokenizer.TokenText(tokenizer.eos_id());
  return t;
}

const std::vector<std::string>& BuiltinChatTemplates() {
  static const std::vector<std::string> kNames = {"llama2",         "llama3", "chatml", "qwen3",
                                                  "qwen3-no-think", "phi3",   "gemma",  "mistral",
                                                  "zephyr",         "codi"};
  return kNames;
}

StatusOr<std::vector<ChatSegment>> RenderChatSegments(std::string_view name,
                                                      const std::vector<ChatMessage>& messages,
                                                      bool gen, const ChatSpecialTokens& tokens) {
  RETURN_IF_ERROR(CheckRoles(messages));
  if (name == "codi") return RenderCodi(messages, gen).Take();
  Folded f = Fold(messages);
  if (name == "llama2") return RenderLlama2(f, tokens).Take();
  if (name == "llama3") return RenderLlama3(f, gen).Take();
  if (name == "chatml") return RenderChatml(f, gen).Take();
  if (name == "qwen3" || name == "qwen3-no-think") {
    return RenderQwen3(messages, gen, name == "qwen3-no-think").Take();
  }
  if (name == "phi3") return RenderPhi3(f, gen).Take();
  if (name == "gemma") return RenderGemma(std::move(f), gen).Take();
  if (name == "mistral") return RenderMistral(std::move(f), tokens).Take();
  if (name == "zephyr") return RenderZephyr(f, gen, tokens).Take();
  std::string known;
  for (const std::string& n : BuiltinChatTemplates()) known += (known.empty() ? "" : ", ") + n;
  return NotFoundError("chat template '" + std::string(name) +
                       "' is not built in (built in: " + known + ")");
}

StatusOr<std::string> RenderChat(std::string_view name, const std::vector<ChatMessage>& messages,
                                 bool gen, const ChatSpecialTokens& tokens) {
  ASSIGN_OR_RETURN(std::vector<ChatSegment> segments,
                   RenderChatSegments(name, messages, gen, tokens));
  std::string out;
  for (const ChatSegment& s : segments) out += s.text;
  return out;
}

StatusOr<std::vector<int32_t>> EncodeChat(const Tokenizer& tokenizer, std::string_view name,
                                          const std::vector<ChatMessage>& messages,
                                          bool add_generation_prompt) {
  const ChatSpecialTokens special = ChatSpecialTokensOf(tokenizer);
  ASSIGN_OR_RETURN(std::vector<ChatSegment> segments,
                   RenderChatSegments(name, messages, add_generation_prompt, special));
  std::vector<TextSegment> parts;
  parts.reserve(segments.size());
  for (const ChatSegment& s : segments) parts.push_back({s.text, /*parse_special=*/!s.content});
  // A template that writes the BOS text itself gets no second BOS.
  const bool has_bos = !segments.empty() && !segments.front().content && !special.bos.empty() &&
                       segments.front().text.rfind(special.bos, 0) == 0;
  return tokenizer.EncodeSegments(parts, tokenizer.add_bos() && !has_bos);
}

std::string DetectChatTemplate(std::string_view j) {
  if (j.empty()) return "";
  if (Contains(j, "[AGENT]") || Contains(j, "[CONTEXT]")) return "codi";
  if (Contains(j, "<|start_header_id|>")) return "llama3";
  if (Contains(j, "<|im_start|>")) return Contains(j, "<think>") ? "qwen3" : "chatml";
  if (Contains(j, "<start_of_turn>")) return "gemma";
  if (Contains(j, "<|assistant|>") && Contains(j, "<|end|>")) return "phi3";
  if (Contains(j, "<|assistant|>") && Contains(j, "<|user|>")) return "zephyr";
  if (Contains(j, "[INST]")) return Contains(j, "<<SYS>>") ? "llama2" : "mistral";
  return "";
}

StatusOr<std::string> ChooseChatTemplate(std::string_view requested, std::string_view model_jinja,
                                         bool* fell_back) {
  *fell_back = false;
  const std::vector<std::string>& known = BuiltinChatTemplates();
  if (!requested.empty()) {
    if (std::find(known.begin(), known.end(), requested) == known.end()) {
      std::string names;
      for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
      return InvalidArgumentError("unknown chat template '" + std::string(requested) +
                                  "' (known: " + names + ")");
    }
    return std::string(requested);
  }
  std::string detected = DetectChatTemplate(model_jinja);
  if (!detected.empty()) return detected;
  *fell_back = true;
  return std::string("chatml");
}

}  // namespace odlm
