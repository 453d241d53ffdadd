// world/question_writer.cc — WriteQuestion: the next USER question of a requested type
// (contract in questions.h).
#include <functional>
#include <set>

#include "world/names.h"
#include "world/question_internal.h"
#include "world/text.h"

namespace odlm::world {

namespace {

struct Candidate {
  const FactSpec* spec = nullptr;
  Subject subject;
  const Fact* fact = nullptr;  // nullptr when the document does not state it
  bool asked = false;
};

bool IsNumeric(const FactSpec& s) {
  const FactType t = TypeOf(s.gen);
  return t == FactType::kNumber || t == FactType::kYear;
}

// A wrong value for a yes/no question about `f`.
std::string FalseValue(const World& world, const Entity& e, const FactSpec& spec, const Fact& f,
                       Rng* rng) {
  if (spec.gen == Gen::kCount) {
    static const int64_t kFactors[][2] = {{1, 2}, {2, 3}, {3, 4}, {4, 3}, {3, 2}, {2, 1}};
    const auto& k = kFactors[rng->Below(6)];
    int64_t v = f.number * k[0] / k[1];
    if (spec.round > 1 && v >= 10 * spec.round) v = v / spec.round * spec.round;
    if (v == f.number || v <= 0) v = f.number + std::max<int64_t>(1, spec.round);
    return FormatCount(v);
  }
  if (spec.gen == Gen::kYear) {
    const int64_t d = rng->Range(2, 30);
    return std::to_string(rng->Percent(50) ? f.number + d : f.number - d);
  }
  std::set<std::string> truth;
  truth.insert(NormalizeValue(f.value));
  truth.insert(NormalizeValue(e.name));
  for (const auto& item : f.items) truth.insert(NormalizeValue(item));
  std::vector<std::string> pool;
  if (!spec.pool.empty()) {
    for (const char* p : spec.pool) pool.push_back(p);
  } else {
    // The same fact of other entities of this split: "Is Kiro Tash the mayor of Marova?" where
    // Kiro Tash is another town's mayor.
    for (const Entity& other : world.entities) {
      if (other.split != e.split || other.kind != e.kind || other.id == e.id) continue;
      if (const Fact* g = other.Find(f.key)) {
        if (g->items.empty()) pool.push_back(g->value);
        pool.insert(pool.end(), g->items.begin(), g->items.end());
      }
    }
  }
  std::vector<std::string> wrong;
  for (auto& p : pool) {
    if (!truth.count(NormalizeValue(p))) wrong.push_back(std::move(p));
  }
  if (!wrong.empty()) return rng->Pick(wrong);
  // Nothing to borrow (a tiny world): an invented name of the right style.
  NameRegistry fresh;
  switch (spec.gen) {
    case Gen::kPerson:
      return fresh.DrawPerson(rng).name;
    case Gen::kCompany:
      return fresh.Draw(rng, NameStyle::kCompany);
    case Gen::kRiver:
    case Gen::kRiverList:
      return fresh.Draw(rng, NameStyle::kRiver);
    case Gen::kRegion:
      return fresh.Draw(rng, NameStyle::kRegion);
    case Gen::kHills:
      return fresh.Draw(rng, NameStyle::kHills);
    case Gen::kSea:
      return fresh.Draw(rng, NameStyle::kSea);
    case Gen::kProductList:
      return "the " + fresh.Draw(rng, NameStyle::kProduct);
    default:
      return fresh.Draw(rng, NameStyle::kTown);
  }
}

}  // namespace

std::string WriteQuestion(const World& world, const Entity& e, Ask ask,
                          const std::vector<Turn>& history, Rng* rng) {
  const std::vector<Asked> asked = AskedSoFar(e, history);
  std::set<std::string> asked_keys, said;
  for (const Asked& a : asked) asked_keys.insert(a.key);
  for (const Turn& t : history) said.insert(t.text);
  const bool first = asked.empty();
  const std::string last_key = first ? "" : asked.back().key;
  const std::string last_subject = first ? "" : asked.back().subject;
  if (first && (ask == Ask::kFollowUp || ask == Ask::kTopicSwitch)) ask = Ask::kOpen;

  std::vector<Candidate> all;
  for (const FactSpec& spec : e.Kind().facts) {
    const std::optional<Subject> s = SubjectOf(e, spec);
    if (!s) continue;
    all.push_back({&spec, *s, e.Find(spec.key), asked_keys.count(spec.key) > 0});
  }
  // Unasked candidates satisfying `pred`, else (when allowed) asked ones.
  auto choose = [&](const std::function<bool(const Candidate&)>& pred,
                    bool allow_asked) -> const Candidate* {
    std::vector<const Candidate*> fresh, again;
    for (const Candidate& c : all) {
      if (pred(c)) (c.asked ? again : fresh).push_back(&c);
    }
    if (!fresh.empty()) return rng->Pick(fresh);
    if (allow_asked && !again.empty()) return rng->Pick(again);
    return nullptr;
  };
  // Did the last answer name a person the entity's pronoun could point at ("Who trained her?" —
  // "Mira Tel." — then "she" is ambiguous)?
  bool last_named_rival = false;
  if (!first && last_subject.empty()) {
    const Fact* f = e.Find(last_key);
    last_named_rival = f != nullptr && f->pronoun == e.pronoun;
  }
  // May the question refer to its subject with a pronoun?
  auto can_coref = [&](const Candidate& c) {
    if (first) return false;
    if (c.subject.name.empty()) return last_subject.empty() && !last_named_rival;
    return last_key == c.spec->parent || last_subject == c.subject.name;
  };
  auto present = [](const Candidate& c) { return c.fact != nullptr; };

  for (int attempt = 0;; ++attempt) {
    const Candidate* c = nullptr;
    bool coref = false, yes_no = false;
    std::string prefix;
    switch (ask) {
      case Ask::kOpen:
        c = choose([&](const Candidate& x) { return present(x) && x.subject.name.empty(); }, false);
        if (!c) c = choose(present, true);
        break;
      case Ask::kFollowUp:
        // The person just named or asked about, else the entity.
        c = choose(
            [&](const Candidate& x) {
              return present(x) && !x.subject.name.empty() &&
                     (last_key == x.spec->parent || last_subject == x.subject.name);
            },
            false);
        if (!c) {
          c = choose([&](const Candidate& x) { return present(x) && x.subject.name.empty(); },
                     true);
        }
        if (c) {
          coref = can_coref(*c);
          if (!coref) prefix = "And ";
        }
        break;
      case Ask::kTopicSwitch: {
        auto elsewhere = [&](const Candidate& x) {
          return present(x) && x.spec->key != last_key &&
                 (x.spec->parent == nullptr || x.spec->parent != last_key) &&
                 (x.subject.name.empty() || x.subject.name != last_subject);
        };
        c = choose(elsewhere, true);
        prefix = QuestionPrefixes()[rng->Below(3)];  // a topic marker (not "And ")
        break;
      }
      case Ask::kYesNo:
        c = choose([&](const Candidate& x) { return present(x) && !x.spec->yes_no.empty(); }, true);
        yes_no = true;
        break;
      case Ask::kNumeric:
        c = choose([&](const Candidate& x) { return present(x) && IsNumeric(*x.spec); }, true);
        break;
      case Ask::kList:
        c = choose(
            [&](const Candidate& x) {
              return present(x) && TypeOf(x.spec->gen) == FactType::kList;
            },
            true);
        break;
      case Ask::kUnanswerable:
        c = choose([&](const Candidate& x) { return !present(x); }, true);
        if (!c) return "Who wrote this note about " + e.name + "?";  // a kind with every fact
        break;
    }
    if (!c) c = choose(present, true);  // the entity lacks this type of fact: any question
    CHECK(c != nullptr) << e.id << ": no fact to ask about";
    // Open and topic-switch questions name their subject; follow-ups decided above.
    if (ask != Ask::kOpen && ask != Ask::kFollowUp && ask != Ask::kTopicSwitch) {
      coref = can_coref(*c) && rng->Percent(50);
    }
    std::string x;
    const QuestionForm* form = nullptr;
    if (yes_no && !c->spec->yes_no.empty()) {
      form = &rng->Pick(c->spec->yes_no);
      if (rng->Percent(50)) {
        x = c->fact->items.empty() ? c->fact->value : rng->Pick(c->fact->items);
      } else {
        x = FalseValue(world, e, *c->spec, *c->fact, rng);
      }
    } else {
      form = &rng->Pick(c->spec->questions);
    }
    std::string q = RenderQuestion(e, c->subject, coref ? form->coref : form->named, x);
    if (!prefix.empty()) q = prefix + Uncapitalize(q);
    // Say something new when possible (a re-asked fact in other words).
    if (!said.count(q) || attempt >= 8) return q;
  }
}

}  // namespace odlm::world
