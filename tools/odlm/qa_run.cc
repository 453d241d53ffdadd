// tools/odlm/qa_run.cc — the shared half of `odlm eval coqa|quac` (contract in qa_run.h).
#include "qa_run.h"

#include <cstdio>

#include "command.h"
#include "platform/file_util.h"

namespace odlm::cli {

int EvalFail(const Status& s) {
  std::fprintf(stderr, "odlm eval: %s\n", s.ToString().c_str());
  return kExitFailure;
}

std::string QaRunArgsError(const EvalModelArgs& a) {
  if (a.history != "gold" && a.history != "pred") return "--history must be gold or pred";
  if (a.max_batch < 1 || a.max_tokens < 1) return "--max-batch and --max-tokens must be >= 1";
  return "";
}

StatusOr<QaData> LoadQaData(const EvalModelArgs& a) {
  QaData d;
  d.task = a.task;
  if (a.task == "coqa") {
    ASSIGN_OR_RETURN(d.coqa, eval::LoadCoqaDataset(a.data));
  } else {
    ASSIGN_OR_RETURN(d.quac, eval::LoadQuacDataset(a.data));
  }
  return d;
}

Status RunQaAndWrite(const QaData& data, const EvalModelArgs& a, const eval::Answerer& answerer,
                     const Status& answer_error) {
  eval::RunOptions ro;
  ro.history = a.history == "gold" ? eval::HistoryMode::kGold : eval::HistoryMode::kPred;
  ro.max_batch = static_cast<size_t>(a.max_batch);
  ro.refusal = a.refusal;
  std::string out_text;
  if (data.task == "coqa") {
    auto preds = eval::RunCoqa(data.coqa, answerer, ro);
    RETURN_IF_ERROR(answer_error);
    RETURN_IF_ERROR(preds.status());
    out_text = eval::CoqaPredictionsToJson(*preds);
  } else {
    auto preds = eval::RunQuac(data.quac, answerer, ro);
    RETURN_IF_ERROR(answer_error);
    RETURN_IF_ERROR(preds.status());
    out_text = eval::QuacPredictionsToJsonLines(*preds);
  }
  return WriteFileAtomically(a.out, out_text);
}

}  // namespace odlm::cli
