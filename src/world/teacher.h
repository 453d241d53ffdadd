// world/teacher.h — a teacher that knows the world: it reads a CoDi link prompt, finds the
// document and the conversation so far in it, and writes the turn the link asks for from the
// entity's facts (world/questions.h). It stands in for the large teacher model a user plugs into
// `odlm codi synth` (vLLM, llama.cpp's server, ollama …) so that odlm can make its own training
// data with no pretrained weights and no network; its turns are correct by construction.
//
// Protocol (examples/world/grounded_qa_graph.yaml follows it; docs/WORLD.md):
//   - the document follows a line "Document:" and ends at the next blank line;
//   - the conversation so far follows a line "Conversation so far:" as "ROLE: text" lines up to
//     the next blank line ("(no turns yet)" for none);
//   - the link's instruction carries a tag; the last tag in the prompt counts:
//       [ask:open] [ask:follow_up] [ask:topic_switch] [ask:yes_no] [ask:numeric] [ask:list]
//       [ask:unanswerable]   -> the next USER question of that type
//       [answer]             -> the answer to the last USER question
//       [refuse]             -> the fixed refusal (kRefusal)
// A document not copied exactly (a "Document:" section that is not one of the world's texts) is
// also found when the prompt contains an entity's text anywhere.
//
// Deterministic: the reply is a function of the prompt and the request's seed. Thread-safe after
// construction (Reply is const).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "world/questions.h"
#include "world/world.h"

namespace odlm::world {

struct ParsedPrompt {
  std::string document;  // "" when no "Document:" section was found
  std::vector<Turn> history;
  std::string tag;  // "ask:numeric", "answer", "refuse", or "" when none
};

ParsedPrompt ParsePrompt(std::string_view prompt);

class Teacher {
 public:
  explicit Teacher(World world);

  // The turn for a chat request whose last user message is `prompt`. InvalidArgument (with a
  // message for the person running synthesis) when the prompt carries no tag, names no document
  // of the world, or asks to answer a question this teacher did not write.
  StatusOr<std::string> Reply(std::string_view prompt, uint64_t seed) const;

  const World& world() const { return world_; }

 private:
  const Entity* FindEntity(const ParsedPrompt& p, std::string_view prompt) const;

  World world_;
  std::unordered_map<std::string, size_t> by_text_;  // document text -> entity index
};

}  // namespace odlm::world
