// eval/report.h — `odlm eval report`: scores one or two prediction files (gold-history and
// pred-history runs) on a CoQA or QuAC dataset and writes report.md, report.json and curve.svg
// (recall by turn for CoQA, F1 by turn for QuAC) into a directory.
// Not thread-safe with respect to the output directory (one writer at a time).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm::eval {

enum class QaTask { kCoqa, kQuac };

std::string_view QaTaskName(QaTask task);
// "coqa" / "quac" → task; anything else InvalidArgument.
StatusOr<QaTask> ParseQaTask(std::string_view name);
// Recognizes the official formats: data[0] has "story" (CoQA) or "paragraphs" (QuAC).
StatusOr<QaTask> DetectQaTask(std::string_view dataset_json, std::string_view origin);

struct ReportRun {
  std::string label;       // e.g. "gold history"
  std::string preds_path;  // official-format predictions
};

struct ReportRequest {
  QaTask task = QaTask::kCoqa;
  std::string data_path;
  std::vector<ReportRun> runs;  // one or more
  std::string out_dir;          // created if absent
};

// Writes the three files; returns the Markdown text as well (for printing).
StatusOr<std::string> WriteEvalReport(const ReportRequest& request);

}  // namespace odlm::eval
