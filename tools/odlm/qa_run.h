// tools/odlm/qa_run.h — the half of `odlm eval coqa|quac` that the local model (cmd_eval_model.cc)
// and an endpoint (cmd_eval_endpoint.cc) share: the arguments' checks, the dataset, the run over
// it (eval/conversational_run.h) and the predictions file.
#pragma once

#include <string>

#include "base/status.h"
#include "eval/conversational_run.h"
#include "eval_model.h"

namespace odlm::cli {

// The dataset of one task; which one `task` says ("coqa" or "quac").
struct QaData {
  std::string task;
  eval::CoqaDataset coqa;
  eval::QuacDataset quac;
};

// Prints "odlm eval: <s>" to stderr; returns kExitFailure.
int EvalFail(const Status& s);

// The checks every run makes of its arguments (history, --max-batch, --max-tokens); a message for
// the user, or "" when they are fine.
std::string QaRunArgsError(const EvalModelArgs& a);

// Loads the official dataset JSON of a.task from a.data.
StatusOr<QaData> LoadQaData(const EvalModelArgs& a);

// Runs `answerer` over the data with a's history, batch size and refusal, and writes a.out
// (atomically) only when every question got an answer. `answer_error` is the answerer's own error
// (it returns no answers after setting it): it is returned first, and nothing is written.
Status RunQaAndWrite(const QaData& data, const EvalModelArgs& a, const eval::Answerer& answerer,
                     const Status& answer_error);

}  // namespace odlm::cli
