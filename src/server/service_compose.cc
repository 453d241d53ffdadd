// server/service_compose.cc — composite tasks in the service ("compose" on chat and completions):
// resolving the request's stages, and running the passes one after another on the scheduler.
#include "platform/process_stats.h"
#include "server/service.h"

namespace odlm::server {

StatusOr<ComposeSpec> Service::ResolveCompose(const ComposeParam& c) const {
  ComposeSpec spec;
  spec.mode = c.merged ? ComposeMode::kMerged : ComposeMode::kTwoPass;
  if (!ParseMergeMethod(c.merge_method, &spec.merge.method)) {
    return InvalidArgumentError("unknown merge method '" + c.merge_method + "'");
  }
  spec.merge.rank = c.merge_rank;
  for (size_t i = 0; i < c.stages.size(); ++i) {
    GenerationParams stage;
    stage.adapters = c.stages[i].adapters;
    auto set = ResolveAdapters(stage);
    if (!set.ok()) return set.status().WithContext("compose.stages[" + std::to_string(i) + "]");
    spec.stages.push_back({std::move(set).value(), c.stages[i].prompt_template});
  }
  if (Status st = ValidateComposeSpec(spec); !st.ok()) {
    return InvalidArgumentError("compose: " + std::string(st.message()));
  }
  return spec;
}

StatusOr<Service::ComposeRun> Service::StartCompose(const AppRecord& app, const ComposeSpec& spec,
                                                    const GenerationParams& p,
                                                    const PassPromptFn& prompt_of) {
  ComposeRun run;
  run.start_ns = MonotonicNanos();
  run.done.mode = spec.mode;
  std::vector<std::vector<AdapterChoice>> passes;
  if (spec.mode == ComposeMode::kMerged) {
    auto merged = compose_cache_.Get(*engine_, spec);
    if (!merged.ok() && merged.status().code() == StatusCode::kNotFound) {
      // The cache reads the engine's registry directly: a name may have been caught between
      // the two steps of a ReplaceAdapter swap, which holds adapters_mu_. Wait for it; retry.
      { std::lock_guard<std::mutex> lock(adapters_mu_); }
      merged = compose_cache_.Get(*engine_, spec);
    }
    ASSIGN_OR_RETURN(MergedAdapterCache::Merged m, std::move(merged));
    run.done.merge_ms = m.build_ms;
    run.merge_pin = m.pin;
    passes.emplace_back();
    if (!m.name.empty()) passes.back().push_back({m.name, 1.0f});
  } else {
    for (const ComposeStage& s : spec.stages) passes.push_back(s.adapters);
  }
  std::string previous;
  for (size_t i = 0; i < passes.size(); ++i) {
    const std::string where = "compose stage " + std::to_string(i + 1);
    ASSIGN_OR_RETURN(PassPrompt prompt, prompt_of(i, previous));
    GenerationParams pass = p;
    pass.compose.reset();
    pass.adapters.emplace();
    for (const AdapterChoice& c : passes[i]) pass.adapters->push_back({c.name, c.scale});
    auto job = StartPooled(app, std::move(prompt.tokens), pass);
    if (!job.ok()) return job.status().WithContext(where);
    if (i + 1 == passes.size()) {
      run.last = std::move(job).value();
      run.last_adapters = std::move(passes[i]);
      run.last_prompt = std::move(prompt.text);
      break;
    }
    (*job)->request().WaitDone();
    StatusOr<GenerateResult> r = (*job)->request().result();
    job->reset();  // the session and the in-flight slot go back before the next pass
    if (!r.ok()) return r.status().WithContext(where);
    if (r->finish == FinishReason::kCancelled) {
      return UnavailableError("the generation was cancelled (the service is shutting down)");
    }
    if (r->text.empty()) {
      return FailedPreconditionError(
          where + " generated no text (finish: " + std::string(FinishReasonName(r->finish)) +
          "), so the next stage has nothing to work on");
    }
    previous = r->text;
    run.done.stages.push_back({std::move(passes[i]), std::move(prompt.text), std::move(r).value()});
  }
  return run;
}

ComposeResult Service::ComposeResultOf(const ComposeRun& run) {
  ComposeResult out = run.done;
  out.stages.push_back({run.last_adapters, run.last_prompt, *run.last->request().result()});
  out.text = out.stages.back().result.text;
  out.total_ms = (MonotonicNanos() - run.start_ns) / 1e6;
  return out;
}

StatusOr<ComposeResult> Service::FinishCompose(ComposeRun run) {
  run.last->request().WaitDone();
  const StatusOr<GenerateResult>& r = run.last->request().result();
  if (!r.ok())
    return r.status().WithContext("compose stage " + std::to_string(run.done.stages.size() + 1));
  if (r->finish == FinishReason::kCancelled) {
    return UnavailableError("the generation was cancelled (the service is shutting down)");
  }
  ComposeResult out = ComposeResultOf(run);
  run.last.reset();
  return out;
}

StatusOr<Service::ComposeRun> Service::StartComposeCompletion(const AppRecord& app,
                                                              const CompletionRequest& r) {
  const auto* input = std::get_if<std::string>(&r.prompt);
  if (input == nullptr) {
    return InvalidArgumentError(
        "'compose' needs a text prompt (token ids cannot be put into a "
        "stage template)");
  }
  ASSIGN_OR_RETURN(ComposeSpec spec, ResolveCompose(*r.params.compose));
  const Tokenizer& tok = engine_->tokenizer();
  return StartCompose(app, spec, r.params,
                      [&](size_t i, const std::string& prev) -> StatusOr<PassPrompt> {
                        PassPrompt pp;
                        pp.text = RenderStagePrompt(spec, i, *input, prev);
                        pp.tokens = tok.Encode(pp.text, tok.add_bos(), /*parse_special=*/false);
                        if (pp.tokens.empty()) {
                          return InvalidArgumentError("compose stage " + std::to_string(i + 1) +
                                                      ": the prompt is empty");
                        }
                        return pp;
                      });
}

StatusOr<Service::ComposeRun> Service::StartComposeChat(const AppRecord& app,
                                                        const ChatCompletionRequest& r) {
  int64_t last_user = -1;
  for (size_t i = 0; i < r.messages.size(); ++i) {
    if (r.messages[i].role == "user") last_user = static_cast<int64_t>(i);
  }
  if (last_user < 0) {
    return InvalidArgumentError("'compose' needs a user message: its content is the {input}");
  }
  ASSIGN_OR_RETURN(ComposeSpec spec, ResolveCompose(*r.params.compose));
  const std::string& input = r.messages[last_user].content;
  return StartCompose(app, spec, r.params,
                      [&](size_t i, const std::string& prev) -> StatusOr<PassPrompt> {
                        std::vector<ChatMessage> messages;
                        if (i == 0) {
                          messages = r.messages;
                          messages[last_user].content = RenderStagePrompt(spec, 0, input, "");
                        } else {
                          for (const ChatMessage& m : r.messages) {
                            if (m.role == "system") messages.push_back(m);
                          }
                          messages.push_back({"user", RenderStagePrompt(spec, i, input, prev)});
                        }
                        PassPrompt pp;
                        pp.text = messages.back().content;
                        ASSIGN_OR_RETURN(pp.tokens, renderer_.Tokens(*engine_, messages));
                        return pp;
                      });
}

}  // namespace odlm::server
