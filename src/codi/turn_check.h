// codi/turn_check.h — cleaning and validating one teacher-written turn.
//
// Clean: trims, folds every whitespace run to one space, drops a leading speaker label the teacher
// tends to add ("Question:", "A:", "USER:", "[AGENT]") and a trailing closing tag, and strips
// quotes around the whole turn. Validate: non-empty, word bounds, no role tags in the text but
// those the document contains (a tag the teacher writes itself means it ran on into the next turn;
// quoted tags are neutralized by the export), and the link's check:
//   grounded — support = share of the answer's content words (lower-cased letters/digits runs of 3+
//              characters or any number, minus common function words) found in the document;
//              an answer with no content words ("Yes.") counts as fully supported;
//   refusal  — the lower-cased text contains one of the graph's refusal markers;
//   question — the text contains '?'.
// Pure functions; thread-safe. Cost is linear in the text (DocumentWords once per document).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "codi/graph.h"

namespace odlm::codi {

// The lower-cased words of a text: runs of ASCII letters, digits and non-ASCII bytes.
std::vector<std::string> LowerWords(const std::string& text);

// The lower-cased content words of a text.
std::vector<std::string> ContentWords(const std::string& text);

// The set of a document's lower-cased words (all of them, for support lookups).
std::unordered_set<std::string> DocumentWords(const std::string& document);

// Fraction of `text`'s content words present in `doc_words` (1 when it has none).
double Support(const std::string& text, const std::unordered_set<std::string>& doc_words);

std::string CleanTurn(const std::string& raw, const std::vector<std::string>& roles);

int WordCount(const std::string& text);

struct TurnVerdict {
  bool ok = false;
  std::string reason;   // "" when ok; else empty, too_short, too_long, role_tag, unsupported,
                        // not_refusal, not_question
  double support = -1;  // grounded links (and every AGENT-checked turn): the support; else -1
};

// `text` is already cleaned. `document`: the conversation's document; a role tag it contains may
// be quoted (a document about the CoDi format), any other role tag is "role_tag".
TurnVerdict CheckTurn(const Graph& g, const Link& link, const std::string& text,
                      const std::unordered_set<std::string>& doc_words,
                      std::string_view document = {});

}  // namespace odlm::codi
