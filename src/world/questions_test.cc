// world/questions_test.cc — the teacher's questions and answers: every template matches back to
// its fact, every question type asks what it says, and every answer is right by the facts.
#include "world/questions.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>

#include "world/question_internal.h"
#include "world/text.h"

namespace odlm::world {
namespace {

const World& TestWorld() {
  static const World w = GenerateWorld({21, 60, 10});
  return w;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A conversation about `e`: an open question and its answer.
std::vector<Turn> Opened(const Entity& e, uint64_t seed) {
  Rng rng(seed);
  std::vector<Turn> h;
  h.push_back({"USER", WriteQuestion(TestWorld(), e, Ask::kOpen, h, &rng)});
  auto a = AnswerLastQuestion(e, h);
  CHECK(a.ok()) << a.status().ToString();
  h.push_back({"AGENT", *a});
  return h;
}

TEST(QuestionsTest, TemplatesAreWellFormed) {
  for (const KindSpec& k : Kinds()) {
    for (const FactSpec& f : k.facts) {
      EXPECT_FALSE(f.sentences.empty()) << f.key;
      EXPECT_FALSE(f.questions.empty()) << f.key;
      for (const auto& q : f.questions) {
        for (std::string t : {q.named, q.coref}) {
          EXPECT_EQ(t.back(), '?') << t;
          EXPECT_TRUE(std::isupper(static_cast<unsigned char>(t[0]))) << t;
          EXPECT_EQ(t.find("{X}"), std::string::npos) << t;
        }
      }
      for (const auto& q : f.yes_no) {
        for (std::string t : {q.named, q.coref}) {
          EXPECT_EQ(t.back(), '?') << t;
          const size_t x = t.find("{X}");
          ASSERT_NE(x, std::string::npos) << t;
          EXPECT_EQ(t.find("{X}", x + 1), std::string::npos) << t;
        }
      }
    }
  }
  for (Ask a : AllAsks()) EXPECT_EQ(ParseAsk(AskName(a)), a);
  EXPECT_FALSE(ParseAsk("rhetorical").has_value());
}

// Every rendered question of every fact (stated or not) matches back to that fact, and no two
// facts of an entity render the same question.
TEST(QuestionsTest, EveryQuestionMatchesItsFact) {
  for (const Entity& e : TestWorld().entities) {
    std::map<std::string, std::string> owner;
    for (const FactSpec& spec : e.Kind().facts) {
      const auto subject = SubjectOf(e, spec);
      if (!subject) continue;
      for (const auto& form : spec.questions) {
        for (const char* t : {form.named, form.coref}) {
          const std::string q = RenderQuestion(e, *subject, t, "");
          auto [it, fresh] = owner.emplace(q, spec.key);
          EXPECT_TRUE(fresh || it->second == spec.key)
              << e.id << ": '" << q << "' asks " << it->second << " and " << spec.key;
          auto m = MatchQuestion(e, q, subject->name);
          ASSERT_TRUE(m.has_value()) << q;
          EXPECT_EQ(m->key, spec.key) << q;
          EXPECT_FALSE(m->yes_no);
          EXPECT_EQ(m->present, e.Find(spec.key) != nullptr);
          EXPECT_EQ(MatchQuestion(e, "Changing the subject, " + Uncapitalize(q))->key, spec.key);
        }
      }
      for (const auto& form : spec.yes_no) {
        for (const char* t : {form.named, form.coref}) {
          const std::string q = RenderQuestion(e, *subject, t, "Quillon Varth");
          auto m = MatchQuestion(e, q, subject->name);
          ASSERT_TRUE(m.has_value()) << q;
          EXPECT_EQ(m->key, spec.key) << q;
          EXPECT_TRUE(m->yes_no);
          EXPECT_EQ(m->proposed, "Quillon Varth");
        }
      }
    }
    EXPECT_FALSE(MatchQuestion(e, "What is the meaning of life?").has_value());
  }
}

TEST(QuestionsTest, EachTypeAsksWhatItSaysAndIsAnsweredFromTheFacts) {
  std::map<Ask, int> checked;
  int yes = 0, no = 0, pronoun_follow_ups = 0;
  for (const Entity& e : TestWorld().entities) {
    for (uint64_t seed = 0; seed < 6; ++seed) {
      const std::vector<Turn> opened = Opened(e, seed);
      const auto first = MatchQuestion(e, opened[0].text);
      ASSERT_TRUE(first && first->present && !first->coref) << opened[0].text;
      for (Ask ask : AllAsks()) {
        Rng rng(seed * 131 + static_cast<uint64_t>(ask));
        std::vector<Turn> h = opened;
        const std::string q = WriteQuestion(TestWorld(), e, ask, h, &rng);
        EXPECT_EQ(q.back(), '?') << q;
        const auto m = MatchQuestion(e, q, first->subject);
        ASSERT_TRUE(m.has_value()) << q;
        h.push_back({"USER", q});
        auto answer = AnswerLastQuestion(e, h);
        ASSERT_TRUE(answer.ok()) << answer.status().ToString();
        const Fact* f = e.Find(m->key);
        const FactSpec* spec = FindFact(e.Kind(), m->key);
        ++checked[ask];
        if (ask == Ask::kUnanswerable) {
          EXPECT_FALSE(m->present) << q;
          EXPECT_EQ(*answer, kRefusal);
          continue;
        }
        ASSERT_NE(f, nullptr) << AskName(ask) << ": " << q;
        const FactType t = TypeOf(spec->gen);
        switch (ask) {
          case Ask::kOpen:
            EXPECT_FALSE(m->coref) << q;
            break;
          case Ask::kFollowUp:
            EXPECT_TRUE(m->coref || q.rfind("And ", 0) == 0) << q;
            if (m->coref) ++pronoun_follow_ups;
            break;
          case Ask::kTopicSwitch:
            EXPECT_NE(m->key, first->key) << q;
            EXPECT_TRUE(q.rfind("Changing the subject, ", 0) == 0 ||
                        q.rfind("On another topic, ", 0) == 0 ||
                        q.rfind("Switching topics, ", 0) == 0)
                << q;
            break;
          case Ask::kNumeric:
            EXPECT_TRUE(t == FactType::kNumber || t == FactType::kYear) << q;
            break;
          case Ask::kList:
            EXPECT_EQ(t, FactType::kList) << q;
            EXPECT_EQ(*answer, f->value + ".");
            break;
          default:
            break;
        }
        if (ask == Ask::kYesNo) {
          ASSERT_TRUE(m->yes_no) << q;
          bool truth = NormalizeValue(m->proposed) == NormalizeValue(f->value);
          for (const auto& item : f->items)
            truth |= NormalizeValue(item) == NormalizeValue(m->proposed);
          EXPECT_EQ(
              *answer,
              truth ? "Yes." : (f->items.empty() ? "No, " + ShortAnswer(*spec, *f) + "." : "No."))
              << q;
          (truth ? yes : no)++;
        } else {
          EXPECT_FALSE(m->yes_no);
          EXPECT_EQ(*answer, ShortAnswer(*spec, *f) + ".") << q;
          EXPECT_NE(Lower(*answer).find(Lower(f->value)), std::string::npos);
        }
      }
    }
  }
  for (Ask a : AllAsks()) EXPECT_GT(checked[a], 100) << AskName(a);
  EXPECT_GT(yes, 50);
  EXPECT_GT(no, 50);
  EXPECT_GT(pronoun_follow_ups, 100);
}

// After the question that names a person ("Who is the mayor of Marova?"), a follow-up asks about
// that person with a pronoun ("When was she elected mayor?").
TEST(QuestionsTest, FollowUpRefersToThePersonJustNamed) {
  int seen = 0;
  for (const Entity& e : TestWorld().entities) {
    for (const FactSpec& spec : e.Kind().facts) {
      if (spec.parent == nullptr || e.Find(spec.key) == nullptr) continue;
      const Fact& parent = *e.Find(spec.parent);
      const FactSpec& pspec = *FindFact(e.Kind(), spec.parent);
      std::vector<Turn> h = {{"USER", RenderQuestion(e, {}, pspec.questions[0].named, "")},
                             {"AGENT", parent.value + "."}};
      Rng rng(seen);
      const std::string q = WriteQuestion(TestWorld(), e, Ask::kFollowUp, h, &rng);
      const auto m = MatchQuestion(e, q, "");
      ASSERT_TRUE(m.has_value()) << q;
      EXPECT_EQ(m->subject, parent.value) << q;
      EXPECT_TRUE(m->coref) << q;
      const std::string pronoun = PronounsOf(parent.pronoun).it;
      EXPECT_NE((" " + q + " ").find(" " + pronoun + " "), std::string::npos) << q;
      h.push_back({"USER", q});
      EXPECT_EQ(*AnswerLastQuestion(e, h), ShortAnswer(spec, *e.Find(spec.key)) + ".");
      ++seen;
    }
  }
  EXPECT_GT(seen, 20);
}

// Long conversations: questions move on to facts not asked yet, every answer is grounded (its
// words are in the document) and every refusal is for a fact the document lacks.
TEST(QuestionsTest, LongConversationsStayGroundedAndMoveOn) {
  for (const Entity& e : TestWorld().entities) {
    Rng rng(HashString(e.id));
    std::vector<Turn> h;
    std::set<std::string> keys;
    const std::string doc = Lower(e.text);
    for (int turn = 0; turn < 7; ++turn) {
      const Ask ask = turn == 0 ? Ask::kOpen : AllAsks()[rng.Below(AllAsks().size())];
      h.push_back({"USER", WriteQuestion(TestWorld(), e, ask, h, &rng)});
      auto a = AnswerLastQuestion(e, h);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      keys.insert(MatchQuestion(e, h.back().text, "")->key);
      if (*a != kRefusal) {
        std::string word;
        for (char c : Lower(*a) + " ") {
          if (std::isalnum(static_cast<unsigned char>(c))) {
            word += c;
            continue;
          }
          if (word.size() >= 3 && word != "yes") {
            EXPECT_NE(doc.find(word), std::string::npos) << word << " in " << *a;
          }
          word.clear();
        }
      }
      h.push_back({"AGENT", *a});
    }
    EXPECT_GE(keys.size(), 4u) << e.id;
  }
}

TEST(QuestionsTest, AnsweringSomethingElseIsAnError) {
  const Entity& e = TestWorld().entities[0];
  EXPECT_FALSE(AnswerLastQuestion(e, {}).ok());
  auto r = AnswerLastQuestion(e, {{"USER", "Why is the sky blue?"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Why is the sky blue?"), std::string::npos);
}

}  // namespace
}  // namespace odlm::world
