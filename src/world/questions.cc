// world/questions.cc — matching questions to facts, and answering them (contract in questions.h;
// writing questions is in question_writer.cc).
#include <map>

#include "world/question_internal.h"
#include "world/text.h"

namespace odlm::world {

namespace {

const std::vector<std::pair<Ask, std::string_view>>& AskNames() {
  static const std::vector<std::pair<Ask, std::string_view>> v = {
      {Ask::kOpen, "open"},
      {Ask::kFollowUp, "follow_up"},
      {Ask::kTopicSwitch, "topic_switch"},
      {Ask::kYesNo, "yes_no"},
      {Ask::kNumeric, "numeric"},
      {Ask::kList, "list"},
      {Ask::kUnanswerable, "unanswerable"}};
  return v;
}

// A candidate reading of a question, with what decides between several.
struct Match {
  Asked asked;
  bool exact = false;
  size_t literal = 0;
};

}  // namespace

std::optional<Ask> ParseAsk(std::string_view name) {
  for (const auto& [a, n] : AskNames()) {
    if (n == name) return a;
  }
  return std::nullopt;
}

std::string_view AskName(Ask a) {
  for (const auto& [x, n] : AskNames()) {
    if (x == a) return n;
  }
  return "open";
}

const std::vector<Ask>& AllAsks() {
  static const std::vector<Ask> v = [] {
    std::vector<Ask> out;
    for (const auto& [a, _] : AskNames()) out.push_back(a);
    return out;
  }();
  return v;
}

const std::vector<std::string>& QuestionPrefixes() {
  // The topic markers first (question_writer.cc picks among the first three), then "And ".
  static const std::vector<std::string> v = {"Changing the subject, ", "On another topic, ",
                                             "Switching topics, ", "And "};
  return v;
}

std::optional<Subject> SubjectOf(const Entity& e, const FactSpec& spec) {
  if (spec.parent == nullptr) return Subject{};
  const Fact* parent = e.Find(spec.parent);
  if (parent == nullptr) return std::nullopt;
  return Subject{parent->value, parent->pronoun};
}

std::string RenderQuestion(const Entity& e, const Subject& s, const char* tmpl,
                           const std::string& x) {
  const Pronouns p = PronounsOf(e.pronoun);
  std::map<std::string, std::string> v = {
      {"E", e.name}, {"it", p.it}, {"its", p.its}, {"him", p.him}, {"X", x}};
  if (!s.name.empty()) {
    const Pronouns sp = PronounsOf(s.pronoun);
    v["P"] = s.name;
    v["she"] = sp.it;
    v["her"] = sp.its;
  }
  return Capitalize(Fill(tmpl, v));
}

std::optional<Asked> MatchQuestion(const Entity& e, std::string_view question,
                                   const std::string& last_subject) {
  std::string q(question);
  while (!q.empty() && q.back() == ' ') q.pop_back();
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const auto& prefix : QuestionPrefixes()) {
      if (q.size() > prefix.size() && q.compare(0, prefix.size(), prefix) == 0) {
        q = Capitalize(q.substr(prefix.size()));
        stripped = true;
      }
    }
  }
  static constexpr char kHole[] = "\x01";
  std::vector<Match> found;
  for (const FactSpec& spec : e.Kind().facts) {
    const std::optional<Subject> subject = SubjectOf(e, spec);
    if (!subject) continue;
    Asked base;
    base.key = spec.key;
    base.present = e.Find(spec.key) != nullptr;
    base.subject = subject->name;
    for (const QuestionForm& form : spec.questions) {
      for (int c = 0; c < 2; ++c) {
        if (RenderQuestion(e, *subject, c ? form.coref : form.named, "") != q) continue;
        Match m{base, true, q.size()};
        m.asked.coref = c == 1;
        found.push_back(std::move(m));
      }
    }
    for (const QuestionForm& form : spec.yes_no) {
      for (int c = 0; c < 2; ++c) {
        const std::string r = RenderQuestion(e, *subject, c ? form.coref : form.named, kHole);
        const size_t hole = r.find(kHole);
        CHECK(hole != std::string::npos) << spec.key << ": yes/no template without {X}";
        const std::string prefix = r.substr(0, hole), suffix = r.substr(hole + 1);
        if (q.size() <= prefix.size() + suffix.size() || q.compare(0, prefix.size(), prefix) != 0 ||
            q.compare(q.size() - suffix.size(), suffix.size(), suffix) != 0) {
          continue;
        }
        Match m{base, false, prefix.size() + suffix.size()};
        m.asked.yes_no = true;
        m.asked.coref = c == 1;
        m.asked.proposed = q.substr(prefix.size(), q.size() - prefix.size() - suffix.size());
        found.push_back(std::move(m));
      }
    }
  }
  if (found.empty()) return std::nullopt;
  auto rank = [&](const Match& m) {
    return std::make_tuple(m.asked.subject == last_subject, m.exact, m.literal);
  };
  const Match* best = &found[0];
  for (const Match& m : found) {
    if (rank(m) > rank(*best)) best = &m;
  }
  return best->asked;
}

std::string AnswerFor(const Entity& e, const Asked& a) {
  const Fact* f = a.present ? e.Find(a.key) : nullptr;
  if (f == nullptr) return kRefusal;
  const FactSpec* spec = FindFact(e.Kind(), f->key);
  CHECK(spec != nullptr);
  const std::string short_answer = ShortAnswer(*spec, *f);
  // The value as the document writes it ("glassmaking.", not "Glassmaking."): the student copies
  // the answer's tokens from the document.
  if (!a.yes_no) return short_answer + ".";
  const std::string proposed = NormalizeValue(a.proposed);
  if (!f->items.empty()) {
    for (const auto& item : f->items) {
      if (NormalizeValue(item) == proposed) return "Yes.";
    }
    return "No.";
  }
  if (NormalizeValue(f->value) == proposed) return "Yes.";
  return "No, " + short_answer + ".";
}

std::vector<Asked> AskedSoFar(const Entity& e, const std::vector<Turn>& history) {
  std::vector<Asked> out;
  std::string last_subject;
  for (const Turn& t : history) {
    if (t.role != "USER") continue;
    auto m = MatchQuestion(e, t.text, last_subject);
    if (!m) continue;
    last_subject = m->subject;
    out.push_back(std::move(*m));
  }
  return out;
}

StatusOr<std::string> AnswerLastQuestion(const Entity& e, const std::vector<Turn>& history) {
  size_t last = history.size();
  for (size_t i = history.size(); i > 0; --i) {
    if (history[i - 1].role == "USER") {
      last = i - 1;
      break;
    }
  }
  if (last == history.size()) {
    return InvalidArgumentError("the conversation has no USER question to answer");
  }
  const std::vector<Asked> before =
      AskedSoFar(e, std::vector<Turn>(history.begin(), history.begin() + last));
  const std::string last_subject = before.empty() ? "" : before.back().subject;
  const auto m = MatchQuestion(e, history[last].text, last_subject);
  if (!m) {
    return InvalidArgumentError("the last question ('" + history[last].text +
                                "') is not one the world teacher asks about " + e.name + " (" +
                                e.id + ")");
  }
  return AnswerFor(e, *m);
}

}  // namespace odlm::world
