// eval/quac.cc — QuAC data/prediction parsing and official-equivalent scoring.
#include "eval/quac.h"

#include <map>
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

std::string DialogOfQid(const std::string& qid) {
  const size_t pos = qid.find("_q#");
  return pos == std::string::npos ? qid : qid.substr(0, pos);
}

// A CANNOTANSWER reference scores 1 only for the exact prediction; otherwise QuAC's F1.
double SpanScore(std::string_view prediction, std::string_view reference) {
  if (reference == kCannotAnswer) return prediction == kCannotAnswer ? 1.0 : 0.0;
  return QuacF1(prediction, reference);
}

StatusOr<std::vector<std::string>> StringList(const Json& obj, std::string_view key,
                                              const std::string& path) {
  ASSIGN_OR_RETURN(const Json* list, GetArray(obj, key, path));
  std::vector<std::string> out;
  for (size_t i = 0; i < list->size(); ++i) {
    if (!(*list)[i].is_string()) {
      return InvalidArgumentError(path + "." + std::string(key) + "[" + std::to_string(i) +
                                  "]: expected a string, got " + JsonTypeName((*list)[i]));
    }
    out.push_back((*list)[i].get<std::string>());
  }
  return out;
}

// The official values: yesno y (yes), n (no), x (neither); followup y, n, m (maybe).
Status CheckDialogAct(const std::string& value, const char* field, const std::string& where) {
  const bool yesno = std::string_view(field) == "yesno";
  if (value == "y" || value == "n" || value == (yesno ? "x" : "m")) return Status::Ok();
  std::string shown = value.substr(0, 16);
  return InvalidArgumentError(where + "." + field + ": expected " +
                              (yesno ? "\"y\", \"n\" or \"x\"" : "\"y\", \"n\" or \"m\"") +
                              ", got \"" + shown + (value.size() > 16 ? "...\"" : "\""));
}

}  // namespace

StatusOr<QuacDataset> ParseQuacDataset(std::string_view json_text, std::string_view origin) {
  const std::string o(origin);
  ASSIGN_OR_RETURN(Json root, ParseJson(json_text, origin));
  auto data_or = GetArray(root, "data", "");
  if (!data_or.ok()) return data_or.status().WithContext(o + " (QuAC dataset)");
  const Json& data = **data_or;
  QuacDataset out;
  std::set<std::string> dialog_ids;
  std::set<std::string> qids;
  for (size_t a = 0; a < data.size(); ++a) {
    const std::string apath = "data[" + std::to_string(a) + "]";
    auto status = [&]() -> Status {
      const Json& article = data[a];
      ASSIGN_OR_RETURN(const Json* paragraphs, GetArray(article, "paragraphs", apath));
      for (size_t p = 0; p < paragraphs->size(); ++p) {
        const std::string ppath = apath + ".paragraphs[" + std::to_string(p) + "]";
        const Json& jp = (*paragraphs)[p];
        QuacDialog d;
        ASSIGN_OR_RETURN(d.id, GetString(jp, "id", ppath));
        auto context = GetString(jp, "context", ppath);
        if (!context.ok()) {
          return InvalidArgumentError("dialog '" + d.id +
                                      "' has no context: " + context.status().message());
        }
        d.context = std::move(*context);
        if (article.is_object()) {
          if (article.contains("title") && article["title"].is_string()) {
            d.title = article["title"].get<std::string>();
          }
          if (article.contains("section_title") && article["section_title"].is_string()) {
            d.section_title = article["section_title"].get<std::string>();
          }
          if (article.contains("background") && article["background"].is_string()) {
            d.background = article["background"].get<std::string>();
          }
        }
        if (!dialog_ids.insert(d.id).second) {
          return InvalidArgumentError(ppath + ".id: dialog '" + d.id + "' appears twice");
        }
        ASSIGN_OR_RETURN(const Json* qas, GetArray(jp, "qas", ppath));
        for (size_t q = 0; q < qas->size(); ++q) {
          const std::string qpath = ppath + ".qas[" + std::to_string(q) + "]";
          const Json& jq = (*qas)[q];
          QuacQuestion question;
          ASSIGN_OR_RETURN(question.id, GetString(jq, "id", qpath));
          ASSIGN_OR_RETURN(question.question, GetString(jq, "question", qpath));
          ASSIGN_OR_RETURN(question.yesno, GetString(jq, "yesno", qpath));
          ASSIGN_OR_RETURN(question.followup, GetString(jq, "followup", qpath));
          RETURN_IF_ERROR(CheckDialogAct(question.yesno, "yesno", qpath));
          RETURN_IF_ERROR(CheckDialogAct(question.followup, "followup", qpath));
          ASSIGN_OR_RETURN(const Json* answers, GetArray(jq, "answers", qpath));
          for (size_t k = 0; k < answers->size(); ++k) {
            ASSIGN_OR_RETURN(
                std::string text,
                GetString((*answers)[k], "text", qpath + ".answers[" + std::to_string(k) + "]"));
            question.answers.push_back(std::move(text));
          }
          if (jq.contains("orig_answer")) {
            ASSIGN_OR_RETURN(const Json* orig, GetObject(jq, "orig_answer", qpath));
            ASSIGN_OR_RETURN(question.orig_answer,
                             GetString(*orig, "text", qpath + ".orig_answer"));
          } else if (!question.answers.empty()) {
            question.orig_answer = question.answers[0];
          }
          if (!qids.insert(question.id).second) {
            return InvalidArgumentError(qpath + ".id: question '" + question.id +
                                        "' appears twice");
          }
          d.questions.push_back(std::move(question));
        }
        out.dialogs.push_back(std::move(d));
      }
      return Status::Ok();
    }();
    if (!status.ok()) return status.WithContext(o);
  }
  return out;
}

StatusOr<QuacDataset> LoadQuacDataset(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseQuacDataset(text, path);
}

StatusOr<std::vector<QuacPredictionLine>> ParseQuacPredictions(std::string_view text,
                                                               std::string_view origin) {
  const std::string o(origin);
  std::vector<QuacPredictionLine> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r\f\v") == std::string_view::npos) continue;
    const std::string where = o + ":" + std::to_string(line_no);
    ASSIGN_OR_RETURN(Json j, ParseJson(line, where));
    if (!j.is_object()) {
      return InvalidArgumentError(where + ": expected an object with qid, best_span_str, yesno, " +
                                  "followup lists, got " + JsonTypeName(j));
    }
    auto status = [&]() -> Status {
      ASSIGN_OR_RETURN(auto qid, StringList(j, "qid", ""));
      ASSIGN_OR_RETURN(auto span, StringList(j, "best_span_str", ""));
      ASSIGN_OR_RETURN(auto yesno, StringList(j, "yesno", ""));
      ASSIGN_OR_RETURN(auto followup, StringList(j, "followup", ""));
      if (qid.empty()) return InvalidArgumentError("qid: empty list");
      if (span.size() != qid.size() || yesno.size() != qid.size() ||
          followup.size() != qid.size()) {
        return InvalidArgumentError("lists differ in length: qid " + std::to_string(qid.size()) +
                                    ", best_span_str " + std::to_string(span.size()) + ", yesno " +
                                    std::to_string(yesno.size()) + ", followup " +
                                    std::to_string(followup.size()));
      }
      QuacPredictionLine l;
      for (size_t i = 0; i < qid.size(); ++i) {
        const std::string at = "[" + std::to_string(i) + "]";
        RETURN_IF_ERROR(CheckDialogAct(yesno[i], "yesno", at));
        RETURN_IF_ERROR(CheckDialogAct(followup[i], "followup", at));
        l.predictions.push_back({qid[i], span[i], yesno[i], followup[i]});
      }
      out.push_back(std::move(l));
      return Status::Ok();
    }();
    if (!status.ok()) return status.WithContext(where);
  }
  return out;
}

StatusOr<std::vector<QuacPredictionLine>> LoadQuacPredictions(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseQuacPredictions(text, path);
}

std::string QuacPredictionsToJsonLines(const std::vector<QuacPredictionLine>& lines) {
  std::string out;
  for (const auto& l : lines) {
    Json j = Json::object();
    j["qid"] = Json::array();
    j["best_span_str"] = Json::array();
    j["yesno"] = Json::array();
    j["followup"] = Json::array();
    for (const auto& p : l.predictions) {
      j["qid"].push_back(p.qid);
      j["best_span_str"].push_back(p.span);
      j["yesno"].push_back(p.yesno);
      j["followup"].push_back(p.followup);
    }
    out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
    out += "\n";
  }
  return out;
}

std::vector<std::string> HandleCannotAnswer(const std::vector<std::string>& references) {
  int cannot = 0;
  int spans = 0;
  for (const auto& r : references) (r == kCannotAnswer ? cannot : spans) += 1;
  if (cannot >= spans) return {std::string(kCannotAnswer)};
  std::vector<std::string> out;
  for (const auto& r : references) {
    if (r != kCannotAnswer) out.push_back(r);
  }
  return out;
}

double QuacHumanAgreement(const std::vector<std::string>& refs) {
  if (refs.size() <= 1) return 1.0;
  double total = 0.0;
  for (size_t i = 0; i < refs.size(); ++i) {
    double best = 0.0;
    for (size_t j = 0; j < refs.size(); ++j) {
      if (i != j) best = std::max(best, QuacF1(refs[i], refs[j]));
    }
    total += best;
  }
  return total / static_cast<double>(refs.size());
}

double QuacModelF1(std::string_view prediction, const std::vector<std::string>& refs) {
  std::vector<double> per_ref;
  per_ref.reserve(refs.size());
  for (const auto& r : refs) per_ref.push_back(SpanScore(prediction, r));
  return LeaveOneOutMax(per_ref);
}

QuacScores ScoreQuac(const QuacDataset& data, const std::vector<QuacPredictionLine>& predictions,
                     double min_f1) {
  QuacScores out;
  // Index the data's qids, then file predictions under the dialog of their line's first qid.
  std::map<std::string, std::string> dialog_of_qid;
  for (const auto& d : data.dialogs) {
    for (const auto& q : d.questions) dialog_of_qid[q.id] = d.id;
  }
  std::map<std::string, std::map<std::string, const QuacPrediction*>> preds;
  for (const auto& line : predictions) {
    if (line.predictions.empty()) continue;
    const std::string line_dialog = DialogOfQid(line.predictions[0].qid);
    for (const auto& p : line.predictions) {
      auto known = dialog_of_qid.find(p.qid);
      if (known == dialog_of_qid.end()) {
        ++out.unknown_predictions;
        AddWarning(&out.warnings, "prediction for unknown question '" + p.qid + "' (ignored)");
      } else if (known->second != line_dialog) {
        ++out.misplaced_predictions;
        AddWarning(&out.warnings, "prediction for '" + p.qid + "' is on the line of dialog '" +
                                      line_dialog + "' (the official scorer does not find it)");
      }
      auto [it, inserted] = preds[line_dialog].insert({p.qid, &p});
      if (!inserted) {
        if (known != dialog_of_qid.end()) {
          ++out.duplicate_predictions;
          AddWarning(&out.warnings,
                     "duplicate prediction for '" + p.qid + "' (the last one counts)");
        }
        it->second = &p;
      }
    }
  }

  double f1_sum = 0, unfiltered_sum = 0, human_sum = 0, unans_sum = 0;
  int f1_n = 0, unfiltered_n = 0, human_n = 0, yes_no_n = 0, yes_no_ok = 0, followup_ok = 0;
  // Gold labels of the questions in the yes/no and follow-up denominators, and the predicted ones.
  std::map<std::string, int> gold_yesno, gold_followup;
  std::set<std::string> pred_yesno, pred_followup;
  for (const auto& d : data.dialogs) {
    bool good_dialog = true;
    int index = 0;
    auto dialog_preds = preds.find(d.id);
    for (const auto& q : d.questions) {
      QuacTurnResult r;
      r.dialog_id = d.id;
      r.qid = q.id;
      r.turn_index = ++index;
      const std::vector<std::string> refs = HandleCannotAnswer(q.answers);
      r.unanswerable = refs.size() == 1 && refs[0] == kCannotAnswer;
      r.human_agreement = QuacHumanAgreement(refs);
      r.kept = r.human_agreement >= min_f1;
      ++out.questions;
      const QuacPrediction* pred = nullptr;
      if (dialog_preds != preds.end()) {
        auto it = dialog_preds->second.find(q.id);
        if (it != dialog_preds->second.end()) pred = it->second;
      }
      if (pred == nullptr) {
        ++out.missing_predictions;
        AddWarning(&out.warnings, "missing prediction for '" + q.id + "' (scored 0)");
        good_dialog = false;
        f1_n += 1;  // a 0 in F1 whatever the agreement, as the official script does
        yes_no_n += 1;
        ++gold_yesno[q.yesno];
        ++gold_followup[q.followup];
        pred_yesno.insert("");  // no prediction: not a constant
        pred_followup.insert("");
        if (r.unanswerable) ++out.unanswerable_questions;
        ++out.scored_questions;
        unfiltered_n += 1;
        if (r.kept) {
          human_sum += r.human_agreement;
          ++human_n;
        }
        out.turns.push_back(std::move(r));
        continue;
      }
      r.has_prediction = true;
      r.f1 = QuacModelF1(pred->span, refs);
      unfiltered_sum += r.f1;
      unfiltered_n += 1;
      if (!r.kept) {
        ++out.low_agreement;
        out.turns.push_back(std::move(r));
        continue;
      }
      human_sum += r.human_agreement;
      ++human_n;
      yes_no_n += 1;
      ++gold_yesno[q.yesno];
      ++gold_followup[q.followup];
      pred_yesno.insert(pred->yesno);
      pred_followup.insert(pred->followup);
      if (pred->yesno == q.yesno) ++yes_no_ok;
      if (pred->followup == q.followup) ++followup_ok;
      if (r.unanswerable) {
        ++out.unanswerable_questions;
        unans_sum += r.f1;
      }
      if (r.f1 >= r.human_agreement) {
        ++out.heq_q_count;
      } else {
        good_dialog = false;
      }
      f1_sum += r.f1;
      f1_n += 1;
      ++out.scored_questions;
      out.turns.push_back(std::move(r));
    }
    if (good_dialog) ++out.heq_d_count;
    ++out.dialogs;
  }
  auto pct = [](double num, int den) { return den > 0 ? 100.0 * num / den : 0.0; };
  out.f1 = pct(f1_sum, f1_n);
  out.unfiltered_f1 = pct(unfiltered_sum, unfiltered_n);
  out.heq_q = pct(out.heq_q_count, out.scored_questions);
  out.heq_d = pct(out.heq_d_count, out.dialogs);
  out.human_f1 = pct(human_sum, human_n);
  if (yes_no_n > 0) {
    out.yes_no = pct(yes_no_ok, yes_no_n);
    out.followup = pct(followup_ok, yes_no_n);
    auto majority = [&](const std::map<std::string, int>& counts, std::string* label) {
      int best = -1;
      for (const auto& [l, n] : counts) {  // map order: ties go to the first label
        if (n > best) best = n, *label = l;
      }
      return pct(best, yes_no_n);
    };
    out.yes_no_majority = majority(gold_yesno, &out.yes_no_majority_label);
    out.followup_majority = majority(gold_followup, &out.followup_majority_label);
    if (pred_yesno.size() == 1) out.constant_yesno = *pred_yesno.begin();
    if (pred_followup.size() == 1) out.constant_followup = *pred_followup.begin();
  }
  if (out.unanswerable_questions > 0) out.unanswerable = pct(unans_sum, out.unanswerable_questions);
  if (f1_n == 0) out.warnings.push_back("no question to score: F1 and HEQ are reported as 0");
  return out;
}

}  // namespace odlm::eval
