// codi/phenomena.h — does a teacher-written turn show the linguistic phenomenon its link asked for?
//
// A graph asks for phenomena by name (graph.h); CoDi's value is that the student sees them, so a
// turn that was asked for one and does not show it is asked again (codi/conversation.h) and
// `odlm codi stats` reports planned against verified rates. Checks, on the cleaned text, by
// surface evidence (English):
//   coreference       a referring pronoun or demonstrative ("it", "its", "they", "them", "their",
//                     "he", "him", "his", "she", "her", "this", "that", "these", "those", "there",
//                     "the latter", "the former"), referring to the document or an earlier turn;
//   ellipsis          an elided question: at most 6 words, or at most half the words of the same
//                     role's previous turn;
//   discourse_marker  the turn opens with a connective ("And", "So", "But", "What about", "How
//                     about", "Also", "Then", "Now", "Well", "OK", "Okay", "Anyway", "Besides",
//                     "Speaking of", "By the way", "Changing the subject", "On another topic",
//                     "Switching topics", "Moving on", "Another thing", "One more thing");
//   topic_switch      at least one content word (codi/turn_check.h ContentWords) that the document
//                     has and no earlier turn of the conversation used;
//   brevity           at most 6 words.
// Any other name is not checkable (kUnchecked): a graph may ask for phenomena odlm has no test for.
// Pure functions; thread-safe; linear in the text and history.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace odlm::codi {

enum class PhenomenonCheck { kShown, kMissing, kUnchecked };

// True for the names above.
bool IsCheckablePhenomenon(std::string_view name);

// `text`: the cleaned turn; `earlier`: the texts of the conversation's earlier non-document turns
// in order; `previous_same_role`: the last earlier turn of the same role ("" when none);
// `doc_words`: DocumentWords of the document.
PhenomenonCheck CheckPhenomenon(std::string_view name, const std::string& text,
                                const std::vector<std::string>& earlier,
                                const std::string& previous_same_role,
                                const std::unordered_set<std::string>& doc_words);

}  // namespace odlm::codi
