// eval/score_report.h — presenting scores: JSON objects, text tables, per-turn curves, Markdown
// reports and an SVG plot of the curves.
//
// JSON keys (stable; scripts rely on them): CoQA {"task":"coqa","f1","em","recall" (overall ×100),
// "in_domain_f1","in_domain_em","in_domain_recall","out_domain_f1",…,"turns","domains":{source:
// {"f1","em","recall","turns"}},"missing_predictions","unknown_predictions",
// "duplicate_predictions","warnings":[…]} where an aggregate without turns (a domain absent from
// the data) has null f1/em/recall; QuAC {"task":"quac","f1","unfiltered_f1","heq_q",
// "heq_d","yes_no","followup","yes_no_majority"/"followup_majority" ({"label","accuracy"}: what
// predicting the most common gold label scores),"yes_no_constant_prediction"/
// "followup_constant_prediction" (the one label every prediction carried, or null),
// "unanswerable" (null when no such question),"human_f1","questions","scored_questions",
// "low_agreement","dialogs", the prediction counters,"warnings"}. Text tables leave out CoQA
// domains without turns (named on a last line) and print "-" for an empty aggregate.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "eval/coqa.h"
#include "eval/json_fields.h"
#include "eval/quac.h"

namespace odlm::eval {

Json CoqaScoresToJson(const CoqaScores& s);
Json QuacScoresToJson(const QuacScores& s);
std::string FormatCoqaTable(const CoqaScores& s);
std::string FormatQuacTable(const QuacScores& s);

// Mean of a per-turn metric by 1-based turn index: CoQA recall, QuAC F1 (over the questions that
// count in the official F1: kept ones and those without a prediction). Values ×100.
struct TurnCurvePoint {
  int turn_index = 0;
  double value = 0;
  int count = 0;
};
std::vector<TurnCurvePoint> CoqaRecallByTurn(const CoqaScores& s);
std::vector<TurnCurvePoint> QuacF1ByTurn(const QuacScores& s);

struct CurveSeries {
  std::string label;  // "gold history", "pred history"
  std::vector<TurnCurvePoint> points;
};

// A self-contained SVG line plot (turn index on x, metric on y, 0–100).
std::string CurvesToSvg(const std::vector<CurveSeries>& series, const std::string& title,
                        const std::string& y_label);

}  // namespace odlm::eval
