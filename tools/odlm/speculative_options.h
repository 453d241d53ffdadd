// tools/odlm/speculative_options.h — the speculative decoding flags of run, chat, serve and bench
// (odlm/speculative.h), named as llama.cpp names its own where it has them.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "common_options.h"
#include "odlm/engine.h"
#include "odlm/speculative.h"

namespace odlm::cli {

struct SpeculativeCliOptions {
  std::string draft_model;       // --draft-model FILE
  int32_t draft_max = 8;         // --draft-max N
  int32_t lookup_ngram = 0;      // --lookup-ngram N (0: off)
  int32_t lookup_ngram_min = 2;  // --lookup-ngram-min N
  float draft_p_min = 0.5f;      // --draft-p-min P
  bool fixed_length = false;     // --draft-fixed: no cost model, draft --draft-max when possible
  // Speculative decoding is on when a drafter is named (and --draft-max is not 0).
  bool requested() const { return draft_max > 0 && (!draft_model.empty() || lookup_ngram > 0); }
};

void AddSpeculativeOptions(CLI::App& app, SpeculativeCliOptions* o);

// The draft model (opened with `model`'s threads and context, checked against `target` with
// CheckDraftModel) and the options Generate takes. Without a draft model *draft stays null.
// Prints the error and returns false when the draft model cannot be used.
bool SetUpSpeculative(const char* prog, const SpeculativeCliOptions& o, const ModelOptions& model,
                      const Engine& target, std::unique_ptr<Engine>* draft,
                      SpeculativeOptions* out);

// One line for --verbose: drafts, acceptance rate, tokens per forward pass.
void PrintSpeculativeStats(FILE* f, const char* prog, const SpeculativeStats& s);

}  // namespace odlm::cli
