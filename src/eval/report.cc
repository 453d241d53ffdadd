// eval/report.cc — Markdown + JSON + SVG reports of one or more scored prediction files.
#include "eval/report.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "eval/coqa.h"
#include "eval/json_fields.h"
#include "eval/quac.h"
#include "eval/score_report.h"
#include "platform/file_util.h"

namespace odlm::eval {
namespace {

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

struct ScoredRun {
  std::string label;
  Json scores;
  std::vector<TurnCurvePoint> curve;
};

std::string CurveTable(const std::vector<ScoredRun>& runs, const std::string& metric) {
  int max_turn = 0;
  for (const auto& r : runs) {
    for (const auto& p : r.curve) max_turn = std::max(max_turn, p.turn_index);
  }
  std::string md = "| turn |";
  std::string sep = "|---:|";
  for (const auto& r : runs) {
    md += " " + metric + " (" + r.label + ") | n |";
    sep += "---:|---:|";
  }
  md += "\n" + sep + "\n";
  for (int t = 1; t <= max_turn; ++t) {
    md += "| " + std::to_string(t) + " |";
    for (const auto& r : runs) {
      const TurnCurvePoint* p = nullptr;
      for (const auto& q : r.curve) {
        if (q.turn_index == t) p = &q;
      }
      md += p ? " " + Fixed(p->value) + " | " + std::to_string(p->count) + " |" : " – | 0 |";
    }
    md += "\n";
  }
  return md;
}

std::string NumberOrNa(const Json& j) { return j.is_number() ? Fixed(j.get<double>()) : "n/a"; }
// A CoQA domain score: "–" where the data has no turn from that domain.
std::string NumberOrDash(const Json& j) { return j.is_number() ? Fixed(j.get<double>()) : "–"; }

}  // namespace

std::string_view QaTaskName(QaTask task) { return task == QaTask::kCoqa ? "coqa" : "quac"; }

StatusOr<QaTask> ParseQaTask(std::string_view name) {
  if (name == "coqa") return QaTask::kCoqa;
  if (name == "quac") return QaTask::kQuac;
  return InvalidArgumentError("unknown task '" + std::string(name) + "' (expected coqa or quac)");
}

StatusOr<QaTask> DetectQaTask(std::string_view dataset_json, std::string_view origin) {
  ASSIGN_OR_RETURN(Json root, ParseJson(dataset_json, origin));
  if (root.is_object() && root.contains("data") && root["data"].is_array() &&
      !root["data"].empty() && root["data"][0].is_object()) {
    const Json& first = root["data"][0];
    if (first.contains("story")) return QaTask::kCoqa;
    if (first.contains("paragraphs")) return QaTask::kQuac;
  }
  return InvalidArgumentError(std::string(origin) +
                              ": neither a CoQA dataset (data[0].story) nor a QuAC dataset "
                              "(data[0].paragraphs); pass the task explicitly");
}

StatusOr<std::string> WriteEvalReport(const ReportRequest& req) {
  if (req.runs.empty()) return InvalidArgumentError("report: no prediction file given");
  std::vector<ScoredRun> runs;
  std::string metric;
  if (req.task == QaTask::kCoqa) {
    metric = "recall";
    ASSIGN_OR_RETURN(CoqaDataset data, LoadCoqaDataset(req.data_path));
    for (const auto& r : req.runs) {
      ASSIGN_OR_RETURN(auto preds, LoadCoqaPredictions(r.preds_path));
      const CoqaScores s = ScoreCoqa(data, preds);
      runs.push_back({r.label, CoqaScoresToJson(s), CoqaRecallByTurn(s)});
    }
  } else {
    metric = "F1";
    ASSIGN_OR_RETURN(QuacDataset data, LoadQuacDataset(req.data_path));
    for (const auto& r : req.runs) {
      ASSIGN_OR_RETURN(auto preds, LoadQuacPredictions(r.preds_path));
      const QuacScores s = ScoreQuac(data, preds);
      runs.push_back({r.label, QuacScoresToJson(s), QuacF1ByTurn(s)});
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(req.out_dir, ec);
  if (ec) {
    return UnavailableError("report: cannot create directory '" + req.out_dir +
                            "': " + ec.message());
  }

  // JSON: scores and curve per run.
  Json report = Json::object();
  report["task"] = std::string(QaTaskName(req.task));
  report["data"] = req.data_path;
  report["curve_metric"] = metric;
  report["runs"] = Json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    Json curve = Json::array();
    for (const auto& p : runs[i].curve) {
      curve.push_back({{"turn", p.turn_index}, {"value", p.value}, {"count", p.count}});
    }
    report["runs"].push_back({{"label", runs[i].label},
                              {"predictions", req.runs[i].preds_path},
                              {"scores", runs[i].scores},
                              {"curve", std::move(curve)}});
  }

  // Markdown.
  const bool coqa = req.task == QaTask::kCoqa;
  std::string md = "# " + std::string(coqa ? "CoQA" : "QuAC") + " evaluation\n\n";
  md += "Data: `" + req.data_path + "`\n\n";
  if (coqa) {
    md += "| run | F1 | EM | recall | in-domain F1 | out-of-domain F1 | turns | missing |\n";
    md += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : runs) {
      const Json& s = r.scores;
      md += "| " + r.label + " | " + Fixed(s["f1"]) + " | " + Fixed(s["em"]) + " | " +
            Fixed(s["recall"]) + " | " + NumberOrDash(s["in_domain_f1"]) + " | " +
            NumberOrDash(s["out_domain_f1"]) + " | " + std::to_string(s["turns"].get<int>()) +
            " | " + std::to_string(s["missing_predictions"].get<int>()) + " |\n";
    }
  } else {
    md += "| run | F1 | HEQ-Q | HEQ-D | yes/no | follow-up | unanswerable | missing |\n";
    md += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : runs) {
      const Json& s = r.scores;
      md += "| " + r.label + " | " + Fixed(s["f1"]) + " | " + Fixed(s["heq_q"]) + " | " +
            Fixed(s["heq_d"]) + " | " + NumberOrNa(s["yes_no"]) + " | " +
            NumberOrNa(s["followup"]) + " | " + NumberOrNa(s["unanswerable"]) + " | " +
            std::to_string(s["missing_predictions"].get<int>()) + " |\n";
    }
    // What yes/no and follow-up are measured against (docs/EVAL.md).
    const Json& s = runs.front().scores;
    if (s["yes_no_majority"]["accuracy"].is_number()) {
      md +=
          "\nyes/no and follow-up: exact match of the predicted `yesno` / `followup` label with "
          "the gold one. Predicting the most common gold label always scores " +
          NumberOrNa(s["yes_no_majority"]["accuracy"]) + " (`" +
          s["yes_no_majority"]["label"].get<std::string>() + "`) / " +
          NumberOrNa(s["followup_majority"]["accuracy"]) + " (`" +
          s["followup_majority"]["label"].get<std::string>() +
          "`) on this data; a generative model predicts neither (`odlm eval quac` writes `x` / "
          "`y` for every question), so for it these two columns are those shares, not a "
          "measure of the model.\n";
    }
  }
  md += "\n## " + metric + " by turn\n\n![" + metric + " by turn](curve.svg)\n\n";
  md += CurveTable(runs, metric);
  md +=
      "\nScores ×100 as the official scorers define them (docs/EVAL.md); full numbers in "
      "report.json.\n";

  std::vector<CurveSeries> series;
  for (const auto& r : runs) series.push_back({r.label, r.curve});
  const std::string svg = CurvesToSvg(
      series, std::string(coqa ? "CoQA" : "QuAC") + " " + metric + " by turn", metric + " (×100)");

  const std::string dir = req.out_dir + "/";
  RETURN_IF_ERROR(WriteFileAtomically(dir + "report.json", report.dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomically(dir + "report.md", md));
  RETURN_IF_ERROR(WriteFileAtomically(dir + "curve.svg", svg));
  return md;
}

}  // namespace odlm::eval
