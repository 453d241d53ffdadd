// eval/coqa.cc — CoQA data/prediction parsing and official-equivalent scoring.
#include "eval/coqa.h"

#include <set>
#include <utility>

#include "eval/json_fields.h"
#include "eval/qa_metrics.h"
#include "platform/file_util.h"

namespace odlm::eval {
namespace {

constexpr size_t kMaxDetailedWarnings = 20;

void AddWarning(std::vector<std::string>* warnings, std::string message) {
  if (warnings->size() < kMaxDetailedWarnings) warnings->push_back(std::move(message));
}

bool IsKnownSource(const std::string& s) {
  for (const auto& d : CoqaInDomainSources()) {
    if (d == s) return true;
  }
  for (const auto& d : CoqaOutDomainSources()) {
    if (d == s) return true;
  }
  return false;
}

// Reads the answer list `answers` (main or additional) of a story: input_text per turn.
StatusOr<std::vector<std::pair<int, std::string>>> ReadAnswerList(const Json& list,
                                                                  const std::string& path) {
  std::vector<std::pair<int, std::string>> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(std::string text, GetString(list[i], "input_text", p));
    ASSIGN_OR_RETURN(int turn_id, GetTurnId(list[i], "turn_id", p));
    out.emplace_back(turn_id, std::move(text));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& CoqaInDomainSources() {
  static const std::vector<std::string> kSources = {"mctest", "gutenberg", "race", "cnn",
                                                    "wikipedia"};
  return kSources;
}

const std::vector<std::string>& CoqaOutDomainSources() {
  static const std::vector<std::string> kSources = {"reddit", "science"};
  return kSources;
}

std::string CoqaDomainDisplayName(std::string_view source) {
  if (source == "mctest") return "children_stories";
  if (source == "gutenberg") return "literature";
  if (source == "race") return "mid-high_school";
  if (source == "cnn") return "news";
  return std::string(source);
}

StatusOr<CoqaDataset> ParseCoqaDataset(std::string_view json_text, std::string_view origin) {
  const std::string o(origin);
  ASSIGN_OR_RETURN(Json root, ParseJson(json_text, origin));
  auto data_or = GetArray(root, "data", "");
  if (!data_or.ok()) return data_or.status().WithContext(o + " (CoQA dataset)");
  const Json& data = **data_or;
  CoqaDataset out;
  std::set<std::string> story_ids;
  for (size_t s = 0; s < data.size(); ++s) {
    const std::string path = "data[" + std::to_string(s) + "]";
    const Json& js = data[s];
    CoqaStory story;
    auto status = [&]() -> Status {
      ASSIGN_OR_RETURN(story.id, GetString(js, "id", path));
      ASSIGN_OR_RETURN(story.source, GetString(js, "source", path));
      auto text = GetString(js, "story", path);
      if (!text.ok())
        return InvalidArgumentError("story '" + story.id +
                                    "' has no text: " + text.status().message());
      story.story = std::move(*text);
      if (!IsKnownSource(story.source)) {
        return InvalidArgumentError(path + ".source: unknown CoQA source '" + story.source +
                                    "' (expected mctest, gutenberg, race, cnn, wikipedia, reddit "
                                    "or science)");
      }
      if (!story_ids.insert(story.id).second) {
        return InvalidArgumentError(path + ".id: story '" + story.id + "' appears twice");
      }
      ASSIGN_OR_RETURN(const Json* questions, GetArray(js, "questions", path));
      ASSIGN_OR_RETURN(const Json* answers, GetArray(js, "answers", path));
      std::vector<std::pair<std::string, const Json*>> answer_lists = {{"answers", answers}};
      if (js.contains("additional_answers")) {
        ASSIGN_OR_RETURN(const Json* extra, GetObject(js, "additional_answers", path));
        for (auto it = extra->begin(); it != extra->end(); ++it) {
          if (!it->is_array()) {
            return InvalidArgumentError(path + ".additional_answers." + it.key() +
                                        ": expected an array, got " + JsonTypeName(*it));
          }
          answer_lists.emplace_back("additional_answers." + it.key(), &*it);
        }
      }
      const size_t n = questions->size();
      std::vector<std::vector<std::pair<int, std::string>>> lists;
      for (const auto& [name, list] : answer_lists) {
        if (list->size() != n) {
          return InvalidArgumentError(path + "." + name + ": has " + std::to_string(list->size()) +
                                      " answers but the story has " + std::to_string(n) +
                                      " questions");
        }
        ASSIGN_OR_RETURN(auto parsed, ReadAnswerList(*list, path + "." + name));
        lists.push_back(std::move(parsed));
      }
      std::set<int> seen_turns;
      for (size_t i = 0; i < n; ++i) {
        const std::string qp = path + ".questions[" + std::to_string(i) + "]";
        CoqaTurn turn;
        ASSIGN_OR_RETURN(turn.question, GetString((*questions)[i], "input_text", qp));
        ASSIGN_OR_RETURN(turn.turn_id, GetTurnId((*questions)[i], "turn_id", qp));
        if (turn.turn_id != static_cast<int>(i) + 1) {
          out.warnings.push_back(qp + ": turn_id " + std::to_string(turn.turn_id) +
                                 " does not match its position " + std::to_string(i + 1));
        }
        if (!seen_turns.insert(turn.turn_id).second) {
          return InvalidArgumentError(qp + ".turn_id: turn " + std::to_string(turn.turn_id) +
                                      " of story '" + story.id + "' appears twice");
        }
        for (size_t l = 0; l < lists.size(); ++l) {
          if (lists[l][i].first != turn.turn_id) {
            out.warnings.push_back(path + "." + answer_lists[l].first + "[" + std::to_string(i) +
                                   "]: turn_id " + std::to_string(lists[l][i].first) +
                                   " does not match the question's " +
                                   std::to_string(turn.turn_id));
          }
          turn.answers.push_back(lists[l][i].second);
        }
        story.turns.push_back(std::move(turn));
      }
      return Status::Ok();
    }();
    if (!status.ok()) return status.WithContext(o);
    out.stories.push_back(std::move(story));
  }
  return out;
}

StatusOr<CoqaDataset> LoadCoqaDataset(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseCoqaDataset(text, path);
}

StatusOr<std::vector<CoqaPrediction>> ParseCoqaPredictions(std::string_view json_text,
                                                           std::string_view origin) {
  const std::string o(origin);
  ASSIGN_OR_RETURN(Json root, ParseJson(json_text, origin));
  if (!root.is_array()) {
    return InvalidArgumentError(o + ": CoQA predictions must be a JSON list of {\"id\", " +
                                "\"turn_id\", \"answer\"} objects, got " + JsonTypeName(root));
  }
  std::vector<CoqaPrediction> out;
  out.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    const std::string p = "[" + std::to_string(i) + "]";
    CoqaPrediction pred;
    auto status = [&]() -> Status {
      ASSIGN_OR_RETURN(pred.id, GetString(root[i], "id", p));
      ASSIGN_OR_RETURN(pred.turn_id, GetTurnId(root[i], "turn_id", p));
      ASSIGN_OR_RETURN(pred.answer, GetString(root[i], "answer", p));
      return Status::Ok();
    }();
    if (!status.ok()) return status.WithContext(o);
    out.push_back(std::move(pred));
  }
  return out;
}

StatusOr<std::vector<CoqaPrediction>> LoadCoqaPredictions(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseCoqaPredictions(text, path);
}

std::string CoqaPredictionsToJson(const std::vector<CoqaPrediction>& predictions) {
  Json list = Json::array();
  for (const auto& p : predictions) {
    Json o = Json::object();
    o["id"] = p.id;
    o["turn_id"] = p.turn_id;
    o["answer"] = p.answer;
    list.push_back(std::move(o));
  }
  // Model output may hold invalid UTF-8: replace it rather than fail.
  return list.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

CoqaScores ScoreCoqa(const CoqaDataset& data, const std::vector<CoqaPrediction>& predictions) {
  CoqaScores out;
  out.warnings = data.warnings;
  if (out.warnings.size() > kMaxDetailedWarnings) out.warnings.resize(kMaxDetailedWarnings);

  std::map<std::pair<std::string, int>, const CoqaTurn*> gold;
  for (const auto& story : data.stories) {
    for (const auto& turn : story.turns) gold[{story.id, turn.turn_id}] = &turn;
  }
  std::map<std::pair<std::string, int>, std::string> preds;
  for (const auto& p : predictions) {
    const std::pair<std::string, int> key(p.id, p.turn_id);
    if (gold.find(key) == gold.end()) {
      ++out.unknown_predictions;
      AddWarning(&out.warnings, "prediction for unknown story/turn: id '" + p.id + "' turn_id " +
                                    std::to_string(p.turn_id) + " (ignored)");
      continue;
    }
    auto [it, inserted] = preds.insert({key, p.answer});
    if (!inserted) {
      ++out.duplicate_predictions;
      AddWarning(&out.warnings, "duplicate prediction for id '" + p.id + "' turn_id " +
                                    std::to_string(p.turn_id) + " (the last one counts)");
      it->second = p.answer;
    }
  }

  struct Sums {
    double f1 = 0, em = 0, recall = 0;
    int turns = 0;
  };
  std::map<std::string, Sums> sums;
  for (const auto& s : CoqaInDomainSources()) sums[s];
  for (const auto& s : CoqaOutDomainSources()) sums[s];

  for (const auto& story : data.stories) {
    int index = 0;
    for (const auto& turn : story.turns) {
      CoqaTurnResult r;
      r.story_id = story.id;
      r.source = story.source;
      r.turn_id = turn.turn_id;
      r.turn_index = ++index;
      const bool gold_unknown =
          !turn.answers.empty() && NormalizeAnswer(turn.answers[0]) == "unknown";
      out.unanswerable_turns += gold_unknown;
      auto it = preds.find({story.id, turn.turn_id});
      if (it == preds.end()) {
        ++out.missing_predictions;
        AddWarning(&out.warnings, "missing prediction for id '" + story.id + "' turn_id " +
                                      std::to_string(turn.turn_id) + " (scored 0)");
      } else {
        r.has_prediction = true;
        const bool said_unknown = NormalizeAnswer(it->second) == "unknown";
        out.unanswerable_correct += gold_unknown && said_unknown;
        out.answerable_refused += !gold_unknown && said_unknown;
        const TurnOverlap t = CoqaTurnScore(turn.answers, it->second);
        r.f1 = t.f1;
        r.em = t.em;
        r.recall = t.recall;
      }
      Sums& s = sums[story.source];
      s.f1 += r.f1;
      s.em += r.em;
      s.recall += r.recall;
      s.turns += 1;
      out.turns.push_back(std::move(r));
    }
  }

  auto finish = [](const Sums& s) {
    CoqaAggregate a;
    const double n = std::max(1, s.turns);
    a.f1 = 100.0 * s.f1 / n;
    a.em = 100.0 * s.em / n;
    a.recall = 100.0 * s.recall / n;
    a.turns = s.turns;
    return a;
  };
  Sums in, outd;
  for (const auto& src : CoqaInDomainSources()) {
    const Sums& s = sums[src];
    in.f1 += s.f1, in.em += s.em, in.recall += s.recall, in.turns += s.turns;
    out.by_source[src] = finish(s);
  }
  for (const auto& src : CoqaOutDomainSources()) {
    const Sums& s = sums[src];
    outd.f1 += s.f1, outd.em += s.em, outd.recall += s.recall, outd.turns += s.turns;
    out.by_source[src] = finish(s);
  }
  Sums all{in.f1 + outd.f1, in.em + outd.em, in.recall + outd.recall, in.turns + outd.turns};
  out.in_domain = finish(in);
  out.out_domain = finish(outd);
  out.overall = finish(all);
  return out;
}

}  // namespace odlm::eval
