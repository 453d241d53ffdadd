// codi/conversation.cc — link execution with retries (contract in conversation.h).
#include "codi/conversation.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>

#include "codi/phenomena.h"
#include "codi/turn_check.h"

namespace odlm::codi {

using nlohmann::json;

std::string ConversationId(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "c%08llu", static_cast<unsigned long long>(index));
  return buf;
}

size_t DocumentFor(uint64_t index, size_t n_docs) { return static_cast<size_t>(index % n_docs); }

std::string BuildPrompt(const Graph& g, const Document& doc, const Walk& walk,
                        const std::vector<Turn>& done, size_t t, uint64_t seed, uint64_t index) {
  const Link& link = g.links[walk.links[t]];
  std::map<std::string, std::string> values;
  for (const auto& slot : link.slots) {
    if (slot == "document") {
      values[slot] = doc.text;
    } else if (slot == "history") {
      std::string h;
      for (const auto& turn : done) {
        const Link& l = g.links[turn.link];
        if (l.source == LinkSource::kDocument) continue;
        h += l.role + ": " + turn.text + "\n";
      }
      if (h.empty()) h = "(no turns yet)\n";
      h.pop_back();
      values[slot] = h;
    } else if (slot == "instruction") {
      values[slot] = link.instruction;
    } else if (slot == "phenomenon") {
      const std::string ph = PhenomenonName(g, walk, t);
      values[slot] = ph.empty() ? "" : g.phenomena.at(ph);
    } else if (slot == "seed_examples") {
      // n_seeds distinct examples (all of them when there are fewer), partial Fisher-Yates.
      CounterRng rng(seed, index, kStreamSeedExamples + 16 * static_cast<uint64_t>(t));
      std::vector<size_t> order(link.seeds.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      const size_t k = std::min<size_t>(link.n_seeds, order.size());
      std::string s;
      for (size_t i = 0; i < k; ++i) {
        const size_t j = i + static_cast<size_t>(rng.Next() % (order.size() - i));
        std::swap(order[i], order[j]);
        s += "- " + link.seeds[order[i]] + "\n";
      }
      s.pop_back();
      values[slot] = s;
    }
  }
  return FillTemplate(link.prompt_template, values);
}

namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Conversation RunConversation(const Graph& g, const Document& doc, uint64_t seed, uint64_t index,
                             TeacherSession* session, const RetryPolicy& retry,
                             const std::atomic<bool>* stop) {
  Conversation c;
  c.index = index;
  c.id = ConversationId(index);
  c.doc_id = doc.id;
  c.walk = SampleWalk(g, seed, index);
  c.started_unix_ms = NowUnixMs();
  const auto t0 = std::chrono::steady_clock::now();
  const auto doc_words = DocumentWords(doc.text);
  std::vector<std::string> roles;
  for (const auto& [r, _] : g.role_weights) roles.push_back(r);
  auto fail = [&](std::string reason, std::string detail) {
    c.ok = false;
    c.reason = std::move(reason);
    c.detail = std::move(detail);
  };
  c.ok = true;
  for (size_t t = 0; t < c.walk.links.size() && c.ok; ++t) {
    const Link& link = g.links[c.walk.links[t]];
    Turn turn;
    turn.link = c.walk.links[t];
    turn.phenomenon = PhenomenonName(g, c.walk, t);
    if (link.source == LinkSource::kDocument) {
      turn.text = doc.text;
      c.turns.push_back(std::move(turn));
      continue;
    }
    ChatRequest req;
    req.system = g.system_prompt;
    req.user = BuildPrompt(g, doc, c.walk, c.turns, t, seed, index);
    req.max_tokens = link.max_tokens;
    req.temperature = link.temperature;
    req.top_p = link.top_p;
    // The sampling seed is a function of (seed, index, turn) and changes only after an invalid
    // reply: a transport error or 5xx retried with the same seed gives the text an undisturbed
    // run would have, so faults do not change the data.
    CounterRng teacher_seeds(seed, index, kStreamTeacherSeed + 16 * static_cast<uint64_t>(t));
    req.seed = teacher_seeds.Next();
    std::string last_reason, last_detail;
    bool done = false, have_valid = false;
    int avoid = -1;  // the endpoint the last call failed on
    int phenomenon_tries = 0;
    std::vector<std::string> earlier;
    std::string previous_same_role;
    if (!turn.phenomenon.empty()) {
      for (const Turn& e : c.turns) {
        const Link& el = g.links[e.link];
        if (el.source == LinkSource::kDocument) continue;
        earlier.push_back(e.text);
        if (el.role == link.role) previous_same_role = e.text;
      }
    }
    for (int attempt = 1; attempt <= retry.max_attempts && !done; ++attempt) {
      if (stop && stop->load()) {
        fail("interrupted", "stopped before turn " + std::to_string(t));
        break;
      }
      ChatResult r = session->Call(req, avoid);
      avoid = r.ok ? -1 : r.endpoint;
      ++turn.attempts;
      ++c.requests;
      c.teacher_s += r.seconds;
      double retry_after = -1;
      if (r.ok) {
        c.prompt_tokens += r.prompt_tokens;
        c.completion_tokens += r.completion_tokens;
        const std::string text = CleanTurn(r.content, roles);
        const TurnVerdict v = CheckTurn(g, link, text, doc_words, doc.text);
        if (v.ok) {
          turn.text = text;
          turn.support = v.support;
          have_valid = true;
          const PhenomenonCheck shown =
              turn.phenomenon.empty()
                  ? PhenomenonCheck::kUnchecked
                  : CheckPhenomenon(turn.phenomenon, text, earlier, previous_same_role, doc_words);
          turn.phenomenon_verified = shown == PhenomenonCheck::kShown     ? 1
                                     : shown == PhenomenonCheck::kMissing ? 0
                                                                          : -1;
          if (shown != PhenomenonCheck::kMissing ||
              ++phenomenon_tries >= retry.phenomenon_attempts || attempt >= retry.max_attempts) {
            done = true;
            break;
          }
          // Valid but without the phenomenon asked for: another sample at once (the teacher is
          // fine); this reply stays if the rest fail.
          req.seed = teacher_seeds.Next();
          continue;
        }
        last_reason = v.reason;
        last_detail = "invalid turn (" + v.reason + "): " + text.substr(0, 120);
        req.seed = teacher_seeds.Next();  // ask for another sample
      } else {
        last_reason = r.reason;
        last_detail = r.detail;
        retry_after = r.retry_after_s;
        if (!r.retryable) {
          fail(r.reason, "turn " + std::to_string(t) + " (" + link.name + "): " + r.detail);
          break;
        }
      }
      if (attempt < retry.max_attempts &&
          !SleepUnlessStopped(BackoffSeconds(retry, attempt, retry_after), stop)) {
        fail("interrupted", "stopped while retrying turn " + std::to_string(t));
        break;
      }
    }
    if (!c.ok) break;
    if (!done && !have_valid) {
      fail(last_reason, "turn " + std::to_string(t) + " (" + link.name + ") failed " +
                            std::to_string(turn.attempts) + " times; last: " + last_detail);
      break;
    }
    c.turns.push_back(std::move(turn));
  }
  c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

json ConversationToJson(const Conversation& c, const Graph& g, const std::string& model,
                        uint64_t seed) {
  json walk = json::array(), phenomena = json::array(), turns = json::array();
  for (size_t t = 0; t < c.walk.links.size(); ++t) {
    walk.push_back(g.links[c.walk.links[t]].name);
    const std::string ph = PhenomenonName(g, c.walk, t);
    phenomena.push_back(ph.empty() ? json(nullptr) : json(ph));
  }
  for (const auto& t : c.turns) {
    const Link& l = g.links[t.link];
    json o = {
        {"link", l.name}, {"role", l.role}, {"text", t.text}, {"weight", g.RoleWeight(l.role)}};
    if (!t.phenomenon.empty()) o["phenomenon"] = t.phenomenon;
    if (t.phenomenon_verified >= 0) o["phenomenon_verified"] = t.phenomenon_verified == 1;
    if (t.support >= 0) o["support"] = std::round(t.support * 1e4) / 1e4;
    if (l.source == LinkSource::kTeacher) o["attempts"] = t.attempts;
    turns.push_back(std::move(o));
  }
  json j = {{"id", c.id},
            {"index", c.index},
            {"doc_id", c.doc_id},
            {"status", c.ok ? "ok" : "failed"},
            {"graph", g.name},
            {"seed", seed},
            {"teacher_model", model},
            {"walk", std::move(walk)},
            {"phenomena", std::move(phenomena)},
            {"turns", std::move(turns)}};
  if (!c.ok) {
    j["reason"] = c.reason;
    j["detail"] = c.detail;
  }
  j["timing"] = {{"started_unix_ms", c.started_unix_ms},
                 {"wall_ms", std::llround(c.wall_s * 1000)},
                 {"teacher_ms", std::llround(c.teacher_s * 1000)},
                 {"requests", c.requests},
                 {"prompt_tokens", c.prompt_tokens},
                 {"completion_tokens", c.completion_tokens}};
  return j;
}

std::string ConversationLine(const Conversation& c, const Graph& g, const std::string& model,
                             uint64_t seed) {
  return ConversationToJson(c, g, model, seed)
             .dump(-1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

}  // namespace odlm::codi
