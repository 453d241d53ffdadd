// fuzz/eval_reader_fuzzer.cc — the evaluation readers (eval/coqa.h, eval/quac.h) on arbitrary
// bytes: CoQA and QuAC datasets and prediction files. The first byte picks the reader. Each
// returns its records or an error naming the file, never a crash; what it accepts is valid.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "eval/coqa.h"
#include "eval/quac.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace odlm::eval;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto d = ParseCoqaDataset(text, "coqa.json");
      if (!d.ok()) break;
      for (const auto& s : d->stories) {
        for (const auto& t : s.turns) FUZZ_CHECK(t.turn_id >= 1 && !t.answers.empty());
      }
      (void)ScoreCoqa(*d, {});
      break;
    }
    case 1: {
      auto p = ParseCoqaPredictions(text, "preds.json");
      if (!p.ok()) break;
      for (const auto& x : *p) FUZZ_CHECK(x.turn_id >= 1);
      auto again = ParseCoqaPredictions(CoqaPredictionsToJson(*p), "again.json");
      FUZZ_CHECK(again.ok() && again->size() == p->size());
      break;
    }
    case 2: {
      auto d = ParseQuacDataset(text, "quac.json");
      if (!d.ok()) break;
      (void)ScoreQuac(*d, {});
      break;
    }
    default: {
      auto p = ParseQuacPredictions(text, "preds.jsonl");
      if (!p.ok()) break;
      auto again = ParseQuacPredictions(QuacPredictionsToJsonLines(*p), "again.jsonl");
      FUZZ_CHECK(again.ok() && again->size() == p->size());
      break;
    }
  }
  return 0;
}
