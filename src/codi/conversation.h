// codi/conversation.h — link execution: one conversation from its blueprint, turn by turn.
//
// For turn t of the walk, the link's template is filled with the document, the conversation so far
// ({history}: "ROLE: text" lines of the earlier non-document turns, or "(no turns yet)"), the
// link's instruction, the chosen phenomenon's instruction ("" when none was drawn) and n_seeds of
// the link's seed examples ("- example" lines, drawn deterministically from (seed, index, t)). The
// teacher's reply is cleaned and checked (codi/turn_check.h). A failed call or an invalid turn is
// retried with exponential backoff and jitter (codi/retry.h; a 429/503's Retry-After is honoured
// unless another endpoint can take the retry); a retry after a failed call avoids the endpoint it
// failed on while the pool has another that admits requests. The request's
// sampling seed derives from (seed, index, turn) and changes only after an invalid reply, so a
// deterministic teacher gives the same conversation whatever transport faults happened. A valid
// reply that lacks the phenomenon the walk asked for (codi/phenomena.h) is asked for again at once,
// up to RetryPolicy::phenomenon_attempts valid replies; the last one stays, marked unverified, so a
// phenomenon never fails a conversation. When a turn
// runs out of attempts, or the teacher gives a non-retryable error, the conversation is given up
// with the reason recorded.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "codi/documents.h"
#include "codi/graph.h"
#include "codi/retry.h"
#include "codi/teacher.h"
#include "codi/walk.h"

namespace odlm::codi {

struct Turn {
  int link = -1;
  std::string text;
  std::string phenomenon;  // "" for none
  double support = -1;     // grounded links: lexical support in the document
  int attempts = 0;        // teacher calls this turn took (0 for document turns)
  // The phenomenon check (codi/phenomena.h): 1 shown, 0 missing after every try, -1 none asked
  // for or not checkable.
  int phenomenon_verified = -1;
};

struct Conversation {
  uint64_t index = 0;
  std::string id;
  std::string doc_id;
  Walk walk;
  std::vector<Turn> turns;  // the completed ones (all of them when ok)
  bool ok = false;
  std::string reason;  // failed: a short code ("http_503", "unsupported", "interrupted", …)
  std::string detail;  // failed: what happened, for people
  int64_t started_unix_ms = 0;
  double wall_s = 0, teacher_s = 0;
  int requests = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

// "c00000042": the id of conversation `index` (zero-padded to 8 digits, wider past 10^8).
std::string ConversationId(uint64_t index);

// The document conversation `index` is grounded in: docs[index % docs.size()].
size_t DocumentFor(uint64_t index, size_t n_docs);

// The prompt for turn t of a conversation (exposed for tests and --dry-run style inspection).
std::string BuildPrompt(const Graph& g, const Document& doc, const Walk& walk,
                        const std::vector<Turn>& done, size_t t, uint64_t seed, uint64_t index);

// Runs one conversation. `stop` (may be null) makes it give up early with reason "interrupted".
// Thread-safe as long as each thread uses its own session.
Conversation RunConversation(const Graph& g, const Document& doc, uint64_t seed, uint64_t index,
                             TeacherSession* session, const RetryPolicy& retry,
                             const std::atomic<bool>* stop);

// One JSONL record (docs/CODI.md "Output"). Invalid UTF-8 from a teacher is replaced (U+FFFD).
nlohmann::json ConversationToJson(const Conversation& c, const Graph& g, const std::string& model,
                                  uint64_t seed);
std::string ConversationLine(const Conversation& c, const Graph& g, const std::string& model,
                             uint64_t seed);  // the record + '\n'

}  // namespace odlm::codi
