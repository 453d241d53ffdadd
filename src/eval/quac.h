// eval/quac.h — the QuAC dataset and prediction formats, and scoring exactly as the official
// scorer.py does (docs/EVAL.md).
//
// Rules reproduced from the official script (min_f1 = 0.4 by default):
//  - references = the `text` of every entry of `answers`; reduced by HandleCannotAnswer: if at
//    least half are "CANNOTANSWER" they become ["CANNOTANSWER"], else the CANNOTANSWER ones go;
//  - human agreement = mean over references of the max QuacF1 against the others (1 for a single
//    reference); questions whose agreement < min_f1 are left out of F1, HEQ, yes/no, follow-up and
//    unanswerable (they still count in `unfiltered_f1`);
//  - model F1 = leave-one-out max (as CoQA) where a CANNOTANSWER reference scores 1 only for the
//    exact (case-sensitive, unnormalized) prediction "CANNOTANSWER";
//  - HEQ-Q: share of kept questions with model F1 ≥ agreement; HEQ-D: share of dialogs in which no
//    kept question falls short (and no question lacks a prediction); yes/no and follow-up: exact
//    string equality with the gold `yesno` / `followup`; unanswerable: mean model F1 over kept
//    questions whose reduced references are ["CANNOTANSWER"];
//  - a question with no prediction scores 0 and, as in the official script, counts in F1, HEQ-Q,
//    yes/no and follow-up (as wrong) and unanswerable whatever its agreement, and fails its dialog.
//    Counted in `missing_predictions`.
//  - predictions are looked up as the script does: a JSON line's predictions belong to the dialog
//    named by its first qid (the part before "_q#"); a qid from another dialog on that line is not
//    found (counted in `misplaced_predictions`); qids not in the data are `unknown_predictions`.
// All scores ×100, not rounded. A metric with no question to average over is absent (the official
// script would divide by zero).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm::eval {

inline constexpr std::string_view kCannotAnswer = "CANNOTANSWER";

struct QuacQuestion {
  std::string id;  // "<dialog id>_q#<k>"
  std::string question;
  std::vector<std::string> answers;  // reference texts as in the file (before reduction)
  std::string orig_answer;           // the answer the student saw (gold history)
  std::string yesno;                 // "y", "n" or "x"
  std::string followup;              // "y", "n" or "m"
};

struct QuacDialog {
  std::string id;  // paragraph id
  std::string title;
  std::string section_title;
  std::string background;
  std::string context;  // the section text (grounding document)
  std::vector<QuacQuestion> questions;
};

struct QuacDataset {
  std::vector<QuacDialog> dialogs;
};

StatusOr<QuacDataset> ParseQuacDataset(std::string_view json_text, std::string_view origin);
StatusOr<QuacDataset> LoadQuacDataset(const std::string& path);

struct QuacPrediction {
  std::string qid;
  std::string span;  // best_span_str
  std::string yesno;
  std::string followup;
};

// One line of the official output: one dialog's predictions as parallel lists.
struct QuacPredictionLine {
  std::vector<QuacPrediction> predictions;
};

// JSON lines; each non-blank line {"qid": [...], "best_span_str": [...], "yesno": [...],
// "followup": [...]} with lists of equal length (the script's zip would silently truncate; here a
// length mismatch is an error).
StatusOr<std::vector<QuacPredictionLine>> ParseQuacPredictions(std::string_view text,
                                                               std::string_view origin);
StatusOr<std::vector<QuacPredictionLine>> LoadQuacPredictions(const std::string& path);
std::string QuacPredictionsToJsonLines(const std::vector<QuacPredictionLine>& lines);

// The reference reduction and the human agreement of a reduced reference list.
std::vector<std::string> HandleCannotAnswer(const std::vector<std::string>& references);
double QuacHumanAgreement(const std::vector<std::string>& reduced_references);
// Leave-one-out max F1 of a prediction against reduced references (CANNOTANSWER rule included).
double QuacModelF1(std::string_view prediction, const std::vector<std::string>& reduced_references);

struct QuacTurnResult {
  std::string dialog_id;
  std::string qid;
  int turn_index = 0;  // 1-based position in the dialog
  bool has_prediction = false;
  bool kept = false;  // human agreement ≥ min_f1
  bool unanswerable = false;
  double f1 = 0;               // model F1 in [0, 1]
  double human_agreement = 0;  // in [0, 1]
};

struct QuacScores {
  double f1 = 0;             // over kept questions (+ questions without prediction)
  double unfiltered_f1 = 0;  // over all questions
  double heq_q = 0;
  double heq_d = 0;
  std::optional<double> yes_no;
  std::optional<double> followup;
  // What yes/no and follow-up accuracy are measured against, over the same questions: the most
  // common gold label (ties: the alphabetically first) and the accuracy of predicting it always,
  // and the one value every prediction carried ("" when the predictions differ, or none). A
  // generative model's predictions are constant ("x" / "y"), so its accuracies equal the share of
  // that gold label and say nothing about the model.
  std::optional<double> yes_no_majority;
  std::optional<double> followup_majority;
  std::string yes_no_majority_label, followup_majority_label;
  std::string constant_yesno, constant_followup;
  std::optional<double> unanswerable;
  double human_f1 = 0;       // mean agreement of kept questions
  int questions = 0;         // in the data
  int scored_questions = 0;  // the HEQ-Q denominator
  int low_agreement = 0;     // left out (with a prediction) for agreement < min_f1
  int unanswerable_questions = 0;
  int dialogs = 0;
  int heq_q_count = 0;
  int heq_d_count = 0;
  int missing_predictions = 0;
  int unknown_predictions = 0;
  int misplaced_predictions = 0;
  int duplicate_predictions = 0;
  std::vector<QuacTurnResult> turns;
  std::vector<std::string> warnings;
};

QuacScores ScoreQuac(const QuacDataset& data, const std::vector<QuacPredictionLine>& predictions,
                     double min_f1 = 0.4);

}  // namespace odlm::eval
