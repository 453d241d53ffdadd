// world/questions.h — the world teacher's two jobs: write the next USER question of a requested
// type about an entity, and write the AGENT's grounded answer to the last question.
//
// Questions come from the schema's templates (world/schema.h), so a question can be matched back
// to the fact it asks (MatchQuestion) — which is how the teacher stays stateless: it reads the
// conversation so far from each request, recovers which facts were asked, and answers from the
// facts. Question types:
//   open          a first question, naming the entity ("How many people live in Marova?")
//   follow_up     builds on the last turn with a pronoun: the person just named ("When was she
//                 elected mayor?") or the entity ("What is its population?")
//   topic_switch  another fact, named, after a marker ("Changing the subject, who founded …?")
//   yes_no        proposes a value, true half the time ("Was it founded in 1873?")
//   numeric       a number or a year          list  a list (neighbours, products, colours)
//   unanswerable  a fact of the entity's kind that its document does not state
// Facts not asked yet come first; when a type has none left, an asked one is asked again in other
// words. Answers: the fact's short answer as the document writes it ("12,400 people.", "In 1873.",
// "Marova, Telsin and Quo.", "glassmaking."), "Yes." / "No, <short answer>." ("No." for lists), and
// kRefusal for absent facts. Pure functions of their arguments (randomness from the Rng passed in);
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "world/rng.h"
#include "world/world.h"

namespace odlm::world {

// The fixed reply to a question the document does not answer.
inline constexpr char kRefusal[] = "The document does not say.";

enum class Ask { kOpen, kFollowUp, kTopicSwitch, kYesNo, kNumeric, kList, kUnanswerable };

// "open", "follow_up", "topic_switch", "yes_no", "numeric", "list", "unanswerable".
std::optional<Ask> ParseAsk(std::string_view name);
std::string_view AskName(Ask a);
const std::vector<Ask>& AllAsks();

struct Turn {
  std::string role;  // "USER", "AGENT", …
  std::string text;
};

// What a question asks, recovered from its text.
struct Asked {
  std::string key;       // the fact's key
  bool present = false;  // the document states it
  std::string subject;   // "" (the entity) or the person a chained fact describes
  bool yes_no = false;   // a yes/no question
  std::string proposed;  // yes/no: the value it proposes
  bool coref = false;    // written with a pronoun
};

// The fact `question` asks about `e`, or nullopt when no template of e's kind renders it. A topic
// marker ("Changing the subject, ") or "And " in front is ignored. When several templates match,
// the one whose subject is `last_subject` wins, then an exact match over a yes/no pattern, then
// the longest literal text.
std::optional<Asked> MatchQuestion(const Entity& e, std::string_view question,
                                   const std::string& last_subject = "");

// The next question of type `ask` about `e`, given the conversation so far. Yes/no questions
// propose wrong values taken from entities of the same split in `world` (or invented ones).
std::string WriteQuestion(const World& world, const Entity& e, Ask ask,
                          const std::vector<Turn>& history, Rng* rng);

// The answer to the last USER turn of `history`. InvalidArgument when there is none or when it is
// not a question about `e` that WriteQuestion could have written.
StatusOr<std::string> AnswerLastQuestion(const Entity& e, const std::vector<Turn>& history);

// The answer to a matched question (what AnswerLastQuestion returns once it has matched).
std::string AnswerFor(const Entity& e, const Asked& a);

}  // namespace odlm::world
