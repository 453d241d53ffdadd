// eval/coqa.h — the CoQA dataset and prediction formats, and scoring exactly as the official
// evaluate-v1.0.py does (docs/EVAL.md), plus the token recall CoDi reports.
//
// Scoring rules reproduced from the official script:
//  - each turn's gold answers are the story's `answers[i].input_text` followed by each list in
//    `additional_answers` (same index i); turns are keyed by (story id, question turn_id);
//  - turn score = leave-one-out average of the max F1 / EM (CoqaTurnScore); the same for recall;
//  - a turn without a prediction scores 0 and still counts (the script warns on stderr; here it is
//    counted in `missing_predictions`); a prediction whose (id, turn_id) is not in the data is
//    ignored (counted in `unknown_predictions`); a repeated prediction replaces the earlier one
//    (counted in `duplicate_predictions`);
//  - per source domain, in-domain = mctest, gutenberg, race, cnn, wikipedia; out-of-domain =
//    reddit, science; overall = all turns. Scores are ×100 and NOT rounded (the script rounds to
//    one decimal when it prints; printing here does the same).
// Malformed files are Status errors naming the field; a story whose source is not one of the seven
// domains is an error (the official script would crash on it).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm::eval {

struct CoqaTurn {
  int turn_id = 0;
  std::string question;
  std::vector<std::string> answers;  // [main answer, additional answers…], never empty
};

struct CoqaStory {
  std::string id;
  std::string source;  // mctest, gutenberg, race, cnn, wikipedia, reddit or science
  std::string story;   // the grounding document
  std::vector<CoqaTurn> turns;
};

struct CoqaDataset {
  std::vector<CoqaStory> stories;
  // Oddities the official script only warns about (turn ids out of order …).
  std::vector<std::string> warnings;
};

// Parses the official dataset JSON ({"version", "data": [story…]}). `origin` names the file in
// errors.
StatusOr<CoqaDataset> ParseCoqaDataset(std::string_view json_text, std::string_view origin);
StatusOr<CoqaDataset> LoadCoqaDataset(const std::string& path);

// The seven CoQA source domains and the display names the official script prints for them.
const std::vector<std::string>& CoqaInDomainSources();
const std::vector<std::string>& CoqaOutDomainSources();
std::string CoqaDomainDisplayName(std::string_view source);

struct CoqaPrediction {
  std::string id;  // story id
  int turn_id = 0;
  std::string answer;
};

// Official predictions: a JSON list of {"id", "turn_id", "answer"}.
StatusOr<std::vector<CoqaPrediction>> ParseCoqaPredictions(std::string_view json_text,
                                                           std::string_view origin);
StatusOr<std::vector<CoqaPrediction>> LoadCoqaPredictions(const std::string& path);
std::string CoqaPredictionsToJson(const std::vector<CoqaPrediction>& predictions);

struct CoqaAggregate {
  double f1 = 0;      // ×100
  double em = 0;      // ×100
  double recall = 0;  // ×100
  int turns = 0;
};

struct CoqaTurnResult {
  std::string story_id;
  std::string source;
  int turn_id = 0;
  int turn_index = 0;  // 1-based position in the story
  bool has_prediction = false;
  double f1 = 0, em = 0, recall = 0;  // in [0, 1]
};

struct CoqaScores {
  std::map<std::string, CoqaAggregate> by_source;  // every one of the seven sources
  CoqaAggregate in_domain, out_domain, overall;
  std::vector<CoqaTurnResult> turns;  // dataset order
  int missing_predictions = 0;
  int unknown_predictions = 0;
  int duplicate_predictions = 0;
  // Unanswerable questions (main gold answer "unknown"): how many, and how many were answered
  // "unknown"; and how many answerable ones were answered "unknown" (a refusal where the document
  // does answer). Compared after CoQA's answer normalization.
  int unanswerable_turns = 0;
  int unanswerable_correct = 0;
  int answerable_refused = 0;
  std::vector<std::string> warnings;  // dataset warnings, then the first few prediction problems
};

CoqaScores ScoreCoqa(const CoqaDataset& data, const std::vector<CoqaPrediction>& predictions);

}  // namespace odlm::eval
