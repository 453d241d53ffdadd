// world/question_internal.h — helpers shared by questions.cc (matching, answering) and
// question_writer.cc (writing); not part of the world's interface.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "world/questions.h"

namespace odlm::world {

// Whom a fact's questions are about: the entity (empty name) or a chained fact's person.
struct Subject {
  std::string name, pronoun;
};

// The subject of `spec`'s questions for `e`; nullopt for a chained fact whose parent is absent
// (nobody to ask about).
std::optional<Subject> SubjectOf(const Entity& e, const FactSpec& spec);

// A question template filled for `e` (x fills {X}), first letter capitalised.
std::string RenderQuestion(const Entity& e, const Subject& s, const char* tmpl,
                           const std::string& x);

// Markers a question may start with; matching strips them.
const std::vector<std::string>& QuestionPrefixes();

// The questions of `history`'s USER turns that match a fact of `e`, in order.
std::vector<Asked> AskedSoFar(const Entity& e, const std::vector<Turn>& history);

}  // namespace odlm::world
