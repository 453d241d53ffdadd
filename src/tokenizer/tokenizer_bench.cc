// Tokenizer speed: encoding ~1 MB of English-like text with the shared Llama-2 (SentencePiece)
// and Llama-3 (byte-level BPE) vocabularies, decoding it back, and loading the vocabularies;
// a 40-message chat prompt through EncodeChat against its rendered string through Encode (what
// keeping message content apart from template text costs).
// Run from the project root (the vocabularies are read from ../shared/testdata/vocab; set
// ODLM_SHARED_TESTDATA elsewhere): ./build/src/tokenizer/tokenizer_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace odlm {
namespace {

std::string VocabPath(const char* name) {
  const char* env = std::getenv("ODLM_SHARED_TESTDATA");
  return std::string(env != nullptr ? env : "../shared/testdata") + "/vocab/" + name;
}

// ~1 MB of English-like prose: sentences drawn from a fixed word list with a fixed seed.
const std::string& EnglishText() {
  static const std::string text = [] {
    const std::vector<std::string> words = {
        "the",      "of",        "and",      "to",         "in",        "a",         "is",
        "that",     "for",       "it",       "as",         "was",       "with",      "be",
        "by",       "on",        "not",      "he",         "this",      "are",       "or",
        "his",      "from",      "at",       "which",      "but",       "have",      "an",
        "had",      "they",      "you",      "were",       "their",     "one",       "all",
        "we",       "can",       "her",      "has",        "there",     "been",      "if",
        "more",     "when",      "will",     "would",      "who",       "so",        "no",
        "model",    "language",  "device",   "memory",     "context",   "question",  "answer",
        "document", "Vancouver", "province", "population", "river",     "mountain",  "city",
        "quickly",  "believe",   "children", "government", "important", "different", "between",
        "2024",     "1,000",     "3.14",     "don't",      "it's",      "(see",      "below)"};
    std::mt19937 rng(1234);
    std::uniform_int_distribution<size_t> pick(0, words.size() - 1);
    std::uniform_int_distribution<int> len(6, 24);
    std::string s;
    while (s.size() < (1u << 20)) {
      const int n = len(rng);
      for (int i = 0; i < n; ++i) {
        std::string w = words[pick(rng)];
        if (i == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
        s += w;
        s += i + 1 < n ? (rng() % 9 == 0 ? ", " : " ") : ". ";
      }
      if (rng() % 6 == 0) s += "\n\n";
    }
    return s;
  }();
  return text;
}

std::unique_ptr<Tokenizer> LoadOrSkip(benchmark::State& state, const char* name) {
  auto file = GgufFile::Open(VocabPath(name));
  if (!file.ok()) {
    state.SkipWithError(("needs " + VocabPath(name)).c_str());
    return nullptr;
  }
  auto tok = Tokenizer::FromGguf(**file);
  if (!tok.ok()) {
    state.SkipWithError(tok.status().ToString().c_str());
    return nullptr;
  }
  return std::move(tok).value();
}

void Encode1MB(benchmark::State& state, const char* vocab) {
  auto tok = LoadOrSkip(state, vocab);
  if (tok == nullptr) return;
  const std::string& text = EnglishText();
  size_t n_tokens = 0;
  for (auto _ : state) {
    std::vector<int32_t> ids = tok->Encode(text, true, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}

void Decode1MB(benchmark::State& state, const char* vocab) {
  auto tok = LoadOrSkip(state, vocab);
  if (tok == nullptr) return;
  const std::vector<int32_t> ids = tok->Encode(EnglishText(), true, false);
  for (auto _ : state) {
    std::string s = tok->Decode(ids);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * EnglishText().size()));
}

void Load(benchmark::State& state, const char* vocab) {
  for (auto _ : state) {
    auto tok = LoadOrSkip(state, vocab);
    benchmark::DoNotOptimize(tok.get());
  }
}

// 40 alternating user / assistant messages of ~1.6 KB each from the prose, after a system one.
std::vector<ChatMessage> LongChat() {
  std::vector<ChatMessage> conv = {{"system", "You answer in one line."}};
  const std::string& text = EnglishText();
  for (size_t i = 0; i < 40; ++i) {
    conv.push_back({i % 2 == 0 ? "user" : "assistant", text.substr(i * 1600, 1600)});
  }
  return conv;
}

// segmented: EncodeChat; otherwise the rendered string with special tokens parsed.
void ChatPrompt(benchmark::State& state, const char* vocab, const char* tmpl, bool segmented) {
  auto tok = LoadOrSkip(state, vocab);
  if (tok == nullptr) return;
  const std::vector<ChatMessage> conv = LongChat();
  const ChatSpecialTokens special = ChatSpecialTokensOf(*tok);
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<int32_t> ids;
    if (segmented) {
      ids = *EncodeChat(*tok, tmpl, conv, true);
    } else {
      const std::string text = *RenderChat(tmpl, conv, true, special);
      bytes = text.size();
      ids = tok->Encode(text, tok->add_bos(), true);
    }
    benchmark::DoNotOptimize(ids.data());
  }
  if (bytes > 0) state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

BENCHMARK_CAPTURE(ChatPrompt, llama3_string, "ggml-vocab-llama-bpe.gguf", "llama3", false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(ChatPrompt, llama3_segments, "ggml-vocab-llama-bpe.gguf", "llama3", true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(ChatPrompt, llama2_string, "ggml-vocab-llama-spm.gguf", "llama2", false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(ChatPrompt, llama2_segments, "ggml-vocab-llama-spm.gguf", "llama2", true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Encode1MB, llama_spm, "ggml-vocab-llama-spm.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Encode1MB, llama_bpe, "ggml-vocab-llama-bpe.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Decode1MB, llama_spm, "ggml-vocab-llama-spm.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Decode1MB, llama_bpe, "ggml-vocab-llama-bpe.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Load, llama_spm, "ggml-vocab-llama-spm.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Load, llama_bpe, "ggml-vocab-llama-bpe.gguf")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace odlm

BENCHMARK_MAIN();
