// world/teacher.cc — prompt parsing and replies of the world teacher (contract in teacher.h).
#include "world/teacher.h"

#include <optional>

namespace odlm::world {

namespace {

// The text after a line equal to `header` up to the next blank line (or the end); nullopt when
// there is no such line.
std::optional<std::string> Section(std::string_view prompt, std::string_view header) {
  size_t at = 0;
  for (;;) {
    at = prompt.find(header, at);
    if (at == std::string_view::npos) return std::nullopt;
    const bool line_start = at == 0 || prompt[at - 1] == '\n';
    const size_t eol = at + header.size();
    if (line_start && (eol == prompt.size() || prompt[eol] == '\n' || prompt[eol] == '\r')) break;
    at = eol;
  }
  size_t start = prompt.find('\n', at);
  if (start == std::string_view::npos) return std::string();
  ++start;
  size_t end = prompt.find("\n\n", start);
  if (end == std::string_view::npos) end = prompt.size();
  std::string s(prompt.substr(start, end - start));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

ParsedPrompt ParsePrompt(std::string_view prompt) {
  ParsedPrompt p;
  if (auto d = Section(prompt, "Document:")) p.document = *d;
  if (auto h = Section(prompt, "Conversation so far:")) {
    size_t pos = 0;
    while (pos < h->size()) {
      size_t end = h->find('\n', pos);
      if (end == std::string::npos) end = h->size();
      const std::string line = h->substr(pos, end - pos);
      pos = end + 1;
      const size_t colon = line.find(": ");
      if (colon == std::string::npos || colon == 0) continue;  // "(no turns yet)"
      const std::string role = line.substr(0, colon);
      if (role.find(' ') != std::string::npos) continue;
      p.history.push_back({role, line.substr(colon + 2)});
    }
  }
  // The last tag in the prompt.
  size_t best = std::string_view::npos;
  for (std::string_view open : {"[ask:", "[answer]", "[refuse]"}) {
    const size_t at = prompt.rfind(open);
    if (at == std::string_view::npos || (best != std::string_view::npos && at < best)) continue;
    const size_t close = prompt.find(']', at);
    if (close == std::string_view::npos) continue;
    best = at;
    p.tag = std::string(prompt.substr(at + 1, close - at - 1));
  }
  return p;
}

Teacher::Teacher(World world) : world_(std::move(world)) {
  for (size_t i = 0; i < world_.entities.size(); ++i) by_text_[world_.entities[i].text] = i;
}

const Entity* Teacher::FindEntity(const ParsedPrompt& p, std::string_view prompt) const {
  auto it = by_text_.find(p.document);
  if (it != by_text_.end()) return &world_.entities[it->second];
  for (const Entity& e : world_.entities) {
    if (prompt.find(e.text) != std::string_view::npos) return &e;
  }
  return nullptr;
}

StatusOr<std::string> Teacher::Reply(std::string_view prompt, uint64_t seed) const {
  const ParsedPrompt p = ParsePrompt(prompt);
  if (p.tag.empty()) {
    return InvalidArgumentError(
        "the prompt carries no world-teacher tag ([ask:TYPE], [answer] or [refuse] in the link's "
        "instruction; see examples/world/grounded_qa_graph.yaml)");
  }
  if (p.tag == "refuse") return std::string(kRefusal);
  const Entity* e = FindEntity(p, prompt);
  if (e == nullptr) {
    return InvalidArgumentError(
        "the prompt holds no document of this world (expected a 'Document:' line followed by "
        "one of the world's texts; were the documents made with the same world.json?)");
  }
  if (p.tag == "answer") return AnswerLastQuestion(*e, p.history);
  if (p.tag.rfind("ask:", 0) == 0) {
    const auto ask = ParseAsk(p.tag.substr(4));
    if (!ask) {
      return InvalidArgumentError("unknown question type [" + p.tag +
                                  "] (expected open, follow_up, topic_switch, yes_no, numeric, "
                                  "list or unanswerable)");
    }
    Rng rng(HashString(prompt) ^ Mix64(seed));
    return WriteQuestion(world_, *e, *ask, p.history, &rng);
  }
  return InvalidArgumentError("unknown tag [" + p.tag + "]");
}

}  // namespace odlm::world
