// tools/odlm/cmd_eval.cc — `odlm eval`: score grounded-QA predictions exactly as the official CoQA
// and QuAC scorers do, ROUGE and chrF for compositional tasks, per-turn reports (docs/EVAL.md).
//
//   odlm eval score coqa|quac --data FILE --preds FILE [--json] [--min-f1 0.4]
//   odlm eval rouge --refs FILE --hyps FILE [--stem] [--json]
//   odlm eval chrf  --refs FILE --hyps FILE [--json]
//   odlm eval report --data FILE --preds FILE [--preds-pred FILE] --out DIR [--task coqa|quac]
//   odlm eval coqa|quac --data FILE --out FILE [-m GGUF | --endpoint URL --model NAME] [...]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "command.h"
#include "eval/chrf.h"
#include "eval/coqa.h"
#include "eval/quac.h"
#include "eval/report.h"
#include "eval/rouge.h"
#include "eval/score_report.h"
#include "eval_model.h"
#include "platform/file_util.h"
#include "qa_run.h"

namespace odlm::cli {
namespace {

// One text per line ('\n' separated; a final newline does not start another line; '\r' before it
// is dropped).
StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
}

StatusOr<std::pair<std::vector<std::string>, std::vector<std::string>>> ReadPairs(
    const std::string& refs_path, const std::string& hyps_path) {
  ASSIGN_OR_RETURN(auto refs, ReadLines(refs_path));
  ASSIGN_OR_RETURN(auto hyps, ReadLines(hyps_path));
  if (refs.size() != hyps.size()) {
    return InvalidArgumentError(refs_path + " has " + std::to_string(refs.size()) + " lines but " +
                                hyps_path + " has " + std::to_string(hyps.size()) +
                                " (one text per line, paired by line)");
  }
  return std::make_pair(std::move(refs), std::move(hyps));
}

int RunScore(const std::string& task_name, const std::string& data, const std::string& preds,
             bool json, double min_f1) {
  auto task = eval::ParseQaTask(task_name);
  if (!task.ok()) return EvalFail(task.status());
  if (*task == eval::QaTask::kCoqa) {
    auto dataset = eval::LoadCoqaDataset(data);
    if (!dataset.ok()) return EvalFail(dataset.status());
    auto predictions = eval::LoadCoqaPredictions(preds);
    if (!predictions.ok()) return EvalFail(predictions.status());
    const eval::CoqaScores s = eval::ScoreCoqa(*dataset, *predictions);
    if (json) {
      std::printf("%s\n", eval::CoqaScoresToJson(s).dump(2).c_str());
    } else {
      std::printf("%s", eval::FormatCoqaTable(s).c_str());
    }
    return kExitOk;
  }
  auto dataset = eval::LoadQuacDataset(data);
  if (!dataset.ok()) return EvalFail(dataset.status());
  auto predictions = eval::LoadQuacPredictions(preds);
  if (!predictions.ok()) return EvalFail(predictions.status());
  const eval::QuacScores s = eval::ScoreQuac(*dataset, *predictions, min_f1);
  if (json) {
    std::printf("%s\n", eval::QuacScoresToJson(s).dump(2).c_str());
  } else {
    std::printf("%s", eval::FormatQuacTable(s).c_str());
  }
  return kExitOk;
}

int RunRouge(const std::string& refs_path, const std::string& hyps_path, bool stem, bool json) {
  auto pairs = ReadPairs(refs_path, hyps_path);
  if (!pairs.ok()) return EvalFail(pairs.status());
  const eval::RougeScores s = eval::CorpusRouge(pairs->first, pairs->second, stem);
  if (json) {
    eval::Json j = eval::Json::object();
    auto prf = [](const eval::PrecisionRecallF& v) {
      return eval::Json{{"precision", v.precision}, {"recall", v.recall}, {"f", v.f}};
    };
    j["rouge1"] = s.rouge1.f;
    j["rouge2"] = s.rouge2.f;
    j["rougeL"] = s.rougeL.f;
    j["detail"] = {{"rouge1", prf(s.rouge1)}, {"rouge2", prf(s.rouge2)}, {"rougeL", prf(s.rougeL)}};
    j["stemmed"] = stem;
    j["pairs"] = pairs->first.size();
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%-8s %9s %9s %9s   (%zu pairs, %s)\n", "", "precision", "recall", "F",
                pairs->first.size(), stem ? "Porter-stemmed" : "not stemmed");
    auto row = [](const char* name, const eval::PrecisionRecallF& v) {
      std::printf("%-8s %9.2f %9.2f %9.2f\n", name, v.precision, v.recall, v.f);
    };
    row("ROUGE-1", s.rouge1);
    row("ROUGE-2", s.rouge2);
    row("ROUGE-L", s.rougeL);
  }
  return kExitOk;
}

int RunChrf(const std::string& refs_path, const std::string& hyps_path, bool json) {
  auto pairs = ReadPairs(refs_path, hyps_path);
  if (!pairs.ok()) return EvalFail(pairs.status());
  const double score = eval::CorpusChrf(pairs->first, pairs->second);
  if (json) {
    eval::Json j = {{"chrf", score},
                    {"signature", "nc:6|nw:0|space:no|beta:2"},
                    {"pairs", pairs->first.size()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("chrF2 = %.2f  (%zu pairs; char order 6, beta 2, whitespace removed)\n", score,
                pairs->first.size());
  }
  return kExitOk;
}

int RunReport(const std::string& task_name, const std::string& data, const std::string& preds,
              const std::string& preds_pred, const std::string& out_dir) {
  eval::ReportRequest req;
  req.data_path = data;
  req.out_dir = out_dir;
  if (task_name.empty()) {
    auto text = ReadFileToString(data);
    if (!text.ok()) return EvalFail(text.status());
    auto task = eval::DetectQaTask(*text, data);
    if (!task.ok()) return EvalFail(task.status());
    req.task = *task;
  } else {
    auto task = eval::ParseQaTask(task_name);
    if (!task.ok()) return EvalFail(task.status());
    req.task = *task;
  }
  req.runs.push_back({preds_pred.empty() ? "predictions" : "gold history", preds});
  if (!preds_pred.empty()) req.runs.push_back({"pred history", preds_pred});
  auto md = eval::WriteEvalReport(req);
  if (!md.ok()) return EvalFail(md.status());
  std::printf("%s\nwrote %s/report.md, report.json, curve.svg\n", md->c_str(), out_dir.c_str());
  return kExitOk;
}

int RunEval(int argc, char** argv) {
  CLI::App app{
      "Evaluate: official CoQA / QuAC scoring, ROUGE, chrF, per-turn reports, model runs.\n\n"
      "examples (the sample files ship in examples/eval/; see docs/EVAL.md):\n"
      "  odlm eval coqa --data examples/eval/coqa_sample.json --history pred --out preds.json\n"
      "  odlm eval coqa --data examples/eval/coqa_sample.json --endpoint http://127.0.0.1:8000 \\\n"
      "      --model Qwen/Qwen2.5-7B-Instruct --out preds.json\n"
      "  odlm eval score coqa --data examples/eval/coqa_sample.json --preds preds.json --json\n"
      "  odlm eval score quac --data examples/eval/quac_sample.json \\\n"
      "      --preds examples/eval/quac_sample_preds.jsonl\n"
      "  odlm eval rouge --refs examples/eval/refs.txt --hyps examples/eval/hyps.txt --stem"};
  app.require_subcommand(1);

  std::string task, data, preds, preds_pred, out_dir, refs, hyps;
  bool json = false, stem = false;
  double min_f1 = 0.4;

  auto* score = app.add_subcommand("score", "score official-format predictions (coqa or quac)");
  score->add_option("task", task, "coqa or quac")->required();
  score->add_option("--data", data, "official dataset JSON")->required();
  score->add_option("--preds", preds, "official-format predictions")->required();
  score->add_flag("--json", json, "print one JSON object");
  score->add_option("--min-f1", min_f1, "QuAC: human-agreement threshold (official 0.4)");

  auto* rouge = app.add_subcommand("rouge", "ROUGE-1/2/L F-measure, one text per line");
  rouge->add_option("--refs", refs, "reference texts, one per line")->required();
  rouge->add_option("--hyps", hyps, "system texts, one per line")->required();
  rouge->add_flag("--stem", stem, "Porter-stem tokens longer than 3 characters");
  rouge->add_flag("--json", json, "print one JSON object");

  auto* chrf = app.add_subcommand("chrf", "chrF (sacreBLEU default), one text per line");
  chrf->add_option("--refs", refs, "reference texts, one per line")->required();
  chrf->add_option("--hyps", hyps, "system texts, one per line")->required();
  chrf->add_flag("--json", json, "print one JSON object");

  auto* report = app.add_subcommand("report", "Markdown + JSON report and SVG per-turn curve");
  report->add_option("--data", data, "official dataset JSON")->required();
  report->add_option("--preds", preds, "predictions (gold history)")->required();
  report->add_option("--preds-pred", preds_pred, "predictions made with the model's own history");
  report->add_option("--out", out_dir, "output directory")->required();
  report->add_option("--task", task, "coqa or quac (default: detected from --data)");

  EvalModelArgs run_args;
  CLI::App* run_cmds[2];
  for (int i = 0; i < 2; ++i) {
    const char* name = i == 0 ? "coqa" : "quac";
    auto* r =
        app.add_subcommand(name, std::string("run a model over a ") + (i == 0 ? "CoQA" : "QuAC") +
                                     " dataset and write official-format predictions");
    r->add_option("--data", run_args.data, "official dataset JSON")->required();
    r->add_option("-m,--model", run_args.model,
                  "GGUF model (default: odlm's default model); with --endpoint, the model name "
                  "the server serves");
    r->add_option("--endpoint", run_args.endpoint,
                  "answer with an OpenAI-compatible chat server instead of a local model: its base "
                  "URL, e.g. http://127.0.0.1:8000 (POST <URL>/v1/chat/completions)");
    r->add_option("--api-key-env", run_args.api_key_env,
                  "with --endpoint: environment variable holding its API key (Bearer)");
    r->add_option("--timeout", run_args.timeout, "with --endpoint: seconds to wait for one reply")
        ->check(CLI::Range(0.01, 86400.0))
        ->capture_default_str();
    r->add_flag("--show-prompts", run_args.show_prompts,
                "print each prompt (with --endpoint: each request body, one JSON line) to stderr");
    r->add_option("--adapter,--lora", run_args.lora,
                  "LoRA adapter FILE[:SCALE] (GGUF or PEFT directory; repeatable)");
    r->add_option("--history", run_args.history, "earlier answers in the prompt: gold or pred")
        ->check(CLI::IsMember({"gold", "pred"}));
    r->add_option("--out", run_args.out, "predictions file to write")->required();
    r->add_option("-t,--threads", run_args.threads, "threads (default: all)");
    r->add_option("-c,--ctx-size", run_args.ctx,
                  "context length (default: the model's trained context; a longer prompt loses "
                  "its oldest history, then its document's beginning)");
    r->add_option("--max-tokens", run_args.max_tokens, "answer length cap in tokens")
        ->capture_default_str();
    r->add_option("--max-batch", run_args.max_batch, "questions decoded together")
        ->capture_default_str();
    r->add_option("--refusal", run_args.refusal,
                  std::string("the model's way of saying the text does not answer (e.g. \"The "
                              "document does not say.\"): answers holding it are written as ") +
                      (i == 0 ? "unknown" : "CANNOTANSWER") +
                      ", and gold history shows such answers in these words");
    run_cmds[i] = r;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (score->parsed()) return RunScore(task, data, preds, json, min_f1);
  if (rouge->parsed()) return RunRouge(refs, hyps, stem, json);
  if (chrf->parsed()) return RunChrf(refs, hyps, json);
  if (report->parsed()) return RunReport(task, data, preds, preds_pred, out_dir);
  for (int i = 0; i < 2; ++i) {
    if (run_cmds[i]->parsed()) {
      run_args.task = i == 0 ? "coqa" : "quac";
      return run_args.endpoint.empty() ? RunEvalModel(run_args) : RunEvalEndpoint(run_args);
    }
  }
  return kExitUsage;
}

}  // namespace
}  // namespace odlm::cli

ODLM_COMMAND("eval", "score CoQA/QuAC predictions, ROUGE, chrF, per-turn reports",
             odlm::cli::RunEval);
