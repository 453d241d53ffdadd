// tools/odlm/cmd_eval_endpoint.cc — `odlm eval coqa|quac --endpoint URL --model NAME`: the same
// run as with a local model (qa_run.h), each question answered by an OpenAI-compatible chat server.
// Registers no command of its own: cmd_eval.cc adds the coqa / quac subcommands.
//
// A prompt's messages go as the chat API has them: the document (the "context" message) as the
// system message, then the earlier questions and answers as user / assistant messages, then the
// question; greedy (temperature 0, top_p 1), at most --max-tokens tokens. The reply's content is
// the answer. The questions of one batch (--max-batch) are asked at once, one connection each.
// The HTTP client is CoDi's teacher client (codi/teacher.h), with its retries (codi/retry.h): a
// transport error, a timeout, a 429 or a 5xx is retried with backoff; when a question still gets
// no answer (or the server refuses the request: a 4xx), the run stops and nothing is written.
#include <cstdio>
#include <memory>
#include <thread>

#include "codi/retry.h"
#include "codi/teacher.h"
#include "command.h"
#include "common_options.h"
#include "eval_model.h"
#include "platform/process_stats.h"
#include "qa_run.h"

namespace odlm::cli {
namespace {

// The chat request for one prompt (above).
codi::ChatRequest EndpointRequest(const eval::QaPrompt& p, int max_tokens) {
  codi::ChatRequest r;
  for (const ChatMessage& m : p.messages) {
    r.messages.push_back({m.role == "context" ? "system" : m.role, m.content});
  }
  r.max_tokens = max_tokens;
  r.temperature = 0;
  r.top_p = 1;
  return r;
}

int Usage(const char* message) {
  std::fprintf(stderr, "odlm eval: %s\n", message);
  return kExitUsage;
}

}  // namespace

int RunEvalEndpoint(const EvalModelArgs& a) {
  if (const std::string e = QaRunArgsError(a); !e.empty()) return Usage(e.c_str());
  if (a.model.empty()) {
    return Usage("--endpoint needs --model NAME: the model name the server serves");
  }
  if (!a.lora.empty() || a.threads != 0 || a.ctx != 0) {
    return Usage("--adapter, -t and -c apply to a local model, not to --endpoint");
  }
  codi::TeacherOptions t;
  t.urls = {a.endpoint};
  t.model = a.model;
  t.request_timeout_s = a.timeout;
  if (!a.api_key_env.empty()) {
    auto key = ApiKeyFromEnv(a.api_key_env);
    if (!key.ok()) return Usage(key.status().message().c_str());
    t.api_key = *key;
  }
  auto pool = codi::TeacherPool::Create(t);
  if (!pool.ok()) return Usage(pool.status().message().c_str());
  auto data = LoadQaData(a);
  if (!data.ok()) return EvalFail(data.status());

  codi::RetryPolicy retry;
  retry.max_attempts = 4;
  retry.base_s = 0.5;
  retry.max_s = 30;
  std::vector<std::unique_ptr<codi::TeacherSession>> sessions;
  for (int i = 0; i < a.max_batch; ++i) {
    sessions.push_back(std::make_unique<codi::TeacherSession>(pool->get()));
  }
  int64_t questions = 0, requests = 0, answer_tokens = 0;
  const int64_t t0 = MonotonicNanos();
  Status answer_error;
  eval::Answerer answerer = [&](const std::vector<eval::QaPrompt>& prompts) {
    std::vector<codi::ChatRequest> reqs;
    for (const auto& p : prompts) {
      reqs.push_back(EndpointRequest(p, a.max_tokens));
      if (a.show_prompts) {
        std::fprintf(stderr, "%s\n", codi::ChatRequestJson(reqs.back(), a.model).c_str());
      }
    }
    std::vector<codi::ChatResult> results(prompts.size());
    std::vector<int> attempts(prompts.size(), 0);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < prompts.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] =
            codi::CallWithRetries(sessions[i].get(), reqs[i], retry, nullptr, &attempts[i]);
      });
    }
    for (auto& th : threads) th.join();
    std::vector<std::string> answers;
    for (size_t i = 0; i < results.size(); ++i) {
      requests += attempts[i];
      const codi::ChatResult& r = results[i];
      if (!r.ok) {
        answer_error = UnavailableError("endpoint " + a.endpoint + ": no answer after " +
                                        std::to_string(attempts[i]) +
                                        (attempts[i] == 1 ? " request" : " requests") + " (" +
                                        r.reason + "; " + r.detail + "); nothing written");
        return std::vector<std::string>();  // no answers: the run stops
      }
      answers.push_back(r.content);
      answer_tokens += r.completion_tokens;
    }
    questions += static_cast<int64_t>(prompts.size());
    return answers;
  };
  if (Status s = RunQaAndWrite(*data, a, answerer, answer_error); !s.ok()) return EvalFail(s);
  const double secs = (MonotonicNanos() - t0) / 1e9;
  std::fprintf(stderr,
               "odlm eval: %lld questions answered by %s (model %s, %s history) in %.1f s, %lld "
               "requests, %lld answer tokens; wrote %s\n",
               static_cast<long long>(questions), a.endpoint.c_str(), a.model.c_str(),
               a.history.c_str(), secs, static_cast<long long>(requests),
               static_cast<long long>(answer_tokens), a.out.c_str());
  return kExitOk;
}

}  // namespace odlm::cli
