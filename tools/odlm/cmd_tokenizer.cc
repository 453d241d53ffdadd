// tools/odlm/cmd_tokenizer.cc — `odlm tokenizer train`: learns a byte-level BPE vocabulary
// (tokenizer/bpe_trainer.h) from text or JSONL files and writes it as a vocabulary-only GGUF
// (docs/TOKENIZER.md).
//
//   odlm tokenizer train --input FILE [--input FILE …] [--format auto|text|jsonl] [--field text]
//                        --vocab-size N --out VOCAB.gguf [--special TOKEN …]
//                        [--special-type control|user] [--bos TOKEN] [--eos TOKEN] [--pad TOKEN]
//                        [--no-add-bos] [--chat-template auto|chatml|none|FILE]
//                        [--min-frequency F] [--threads T]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "command.h"
#include "common_options.h"
#include "platform/file_util.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/vocab_writer.h"

namespace odlm::cli {
namespace {

constexpr const char* kProg = "odlm tokenizer train";

// The same ChatML template as the built-in vocabulary (model_gen/gen_vocab.cc).
constexpr const char* kChatMlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

// JSONL documents are handed to the trainer in batches of about this many bytes.
constexpr size_t kBatchBytes = size_t{32} << 20;

struct TrainArgs {
  std::vector<std::string> inputs;
  std::string format = "auto", field = "text", out, special_type = "control";
  std::string bos, eos, pad, chat_template = "auto";
  std::vector<std::string> specials;
  int32_t vocab_size = 0;
  int64_t min_frequency = 2;
  int threads = 0;
  bool no_add_bos = false;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// "812 bytes", "12.34 MB".
std::string Size(int64_t bytes) {
  char buf[32];
  if (bytes < 1000000) {
    std::snprintf(buf, sizeof(buf), "%lld bytes", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f MB", static_cast<double>(bytes) / 1e6);
  }
  return buf;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kProg, message.c_str());
  return kExitFailure;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n(see %s --help)\n", kProg, message.c_str(), kProg);
  return kExitUsage;
}

bool HasSuffix(const std::string& s, const char* suffix) {
  const size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Reads one JSONL file, handing the `field` strings to the trainer in batches.
Status AddJsonl(const std::string& path, const std::string& field, int threads,
                BpeTrainer* trainer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "'");
  std::vector<std::string> batch;
  size_t batch_bytes = 0;
  auto flush = [&] {
    std::vector<std::string_view> views(batch.begin(), batch.end());
    trainer->AddTexts(views, threads);
    batch.clear();
    batch_bytes = 0;
  };
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return InvalidArgumentError(where + "not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) return InvalidArgumentError(where + "expected a JSON object");
    auto it = j.find(field);
    if (it == j.end()) return InvalidArgumentError(where + "no field '" + field + "'");
    if (!it->is_string()) {
      return InvalidArgumentError(where + "field '" + field + "' is a " + it->type_name() +
                                  ", expected a string");
    }
    batch.push_back(it->get<std::string>());
    batch_bytes += batch.back().size();
    if (batch_bytes >= kBatchBytes) flush();
  }
  if (in.bad()) return DataLossError("cannot read '" + path + "'");
  flush();
  return Status::Ok();
}

const char* StopReason(BpeStop stop) {
  switch (stop) {
    case BpeStop::kVocabFull:
      return "the vocabulary is full";
    case BpeStop::kNoPairs:
      return "every word is a single token";
    case BpeStop::kMinFrequency:
      return "no pair occurs --min-frequency times";
  }
  return "?";
}

int RunTrainTokenizer(TrainArgs a) {
  const auto start = std::chrono::steady_clock::now();
  // Options: defaults for the special tokens and the ids that name them.
  if (a.specials.empty()) a.specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  auto has = [&](const std::string& t) {
    return std::find(a.specials.begin(), a.specials.end(), t) != a.specials.end();
  };
  for (const std::string* t : {&a.bos, &a.eos, &a.pad}) {
    if (!t->empty() && !has(*t)) a.specials.push_back(*t);  // --bos X adds X as a special token
  }
  if (a.bos.empty() && has("<|endoftext|>")) a.bos = "<|endoftext|>";
  if (a.eos.empty() && has("<|im_end|>")) a.eos = "<|im_end|>";
  if (a.eos.empty() && has("<|endoftext|>")) a.eos = "<|endoftext|>";
  if (a.pad.empty() && has("<|endoftext|>")) a.pad = "<|endoftext|>";

  BpeTrainerOptions o;
  o.vocab_size = a.vocab_size;
  o.special_tokens = a.specials;
  o.special_type = a.special_type == "user" ? TokenType::kUserDefined : TokenType::kControl;
  o.bos_token = a.bos;
  o.eos_token = a.eos;
  o.pad_token = a.pad;
  o.add_bos = !a.no_add_bos;
  o.min_frequency = a.min_frequency;
  if (a.chat_template == "chatml" ||
      (a.chat_template == "auto" && has("<|im_start|>") && has("<|im_end|>"))) {
    o.chat_template = kChatMlTemplate;
  } else if (a.chat_template != "auto" && a.chat_template != "none") {
    auto text = ReadFileToString(a.chat_template);
    if (!text.ok()) return Fail("--chat-template: " + text.status().message());
    o.chat_template = *text;
  }
  double last_print = -1;
  o.progress = [&](const BpeTrainProgress& p) {
    const double t = Seconds(start);
    if (!p.done && t - last_print < 1.0) return;
    last_print = t;
    std::fprintf(stderr, "%s: merges %d, vocabulary %d/%d, last '%.*s' x%lld (%.1f s)\n", kProg,
                 p.n_merges, p.n_tokens, p.target, static_cast<int>(p.last_token.size()),
                 p.last_token.data(), static_cast<long long>(p.last_count), t);
  };
  auto trainer = BpeTrainer::Create(std::move(o));
  if (!trainer.ok()) return UsageError(trainer.status().message());

  // Fail before the work, not after it, when the output cannot be written there.
  const std::filesystem::path out_dir = std::filesystem::path(a.out).parent_path();
  std::error_code ec;
  if (!out_dir.empty() && !std::filesystem::is_directory(out_dir, ec)) {
    return Fail("--out " + a.out + ": the directory '" + out_dir.string() + "' does not exist");
  }
  const int threads = a.threads > 0 ? a.threads : HardwareThreads();
  for (const std::string& path : a.inputs) {
    const bool jsonl =
        a.format == "jsonl" ||
        (a.format == "auto" && (HasSuffix(path, ".jsonl") || HasSuffix(path, ".ndjson")));
    const int64_t bytes_before = (*trainer)->n_bytes(), words_before = (*trainer)->n_words();
    if (jsonl) {
      Status s = AddJsonl(path, a.field, threads, trainer->get());
      if (!s.ok()) return Fail(s.message());
    } else {
      auto text = ReadFileToString(path);
      if (!text.ok()) return Fail(text.status().message());
      (*trainer)->AddTexts({*text}, threads);
    }
    std::fprintf(stderr, "%s: %s: %s, %lld words (%zu distinct so far) (%.1f s)\n", kProg,
                 path.c_str(), Size((*trainer)->n_bytes() - bytes_before).c_str(),
                 static_cast<long long>((*trainer)->n_words() - words_before),
                 (*trainer)->n_unique_words(), Seconds(start));
  }

  BpeTrainStats stats;
  const Vocab vocab = (*trainer)->Train(&stats);
  Status s = WriteVocabGguf(vocab, a.out);
  if (!s.ok()) return Fail(s.message());
  std::fprintf(stderr,
               "%s: wrote %s: %d tokens (256 bytes + %zu special + %d merges); stopped because "
               "%s; %.1f s\n",
               kProg, a.out.c_str(), vocab.size(), a.specials.size(), stats.n_merges,
               StopReason(stats.stop), Seconds(start));
  if (vocab.size() < a.vocab_size) {
    std::fprintf(stderr,
                 "%s: note: the text allowed only %d of the %d tokens asked for (more text, or a "
                 "lower --min-frequency, gives more)\n",
                 kProg, vocab.size(), a.vocab_size);
  }
  return kExitOk;
}

int RunTokenizer(int argc, char** argv) {
  CLI::App app("Tokenizer tools (docs/TOKENIZER.md).", argv[0]);
  app.require_subcommand(1);
  TrainArgs a;
  CLI::App* train = app.add_subcommand(
      "train",
      "learn a byte-level BPE vocabulary (GPT-2 style) from text and write it as a "
      "vocabulary-only GGUF file");
  train->add_option("--input", a.inputs, "training text: a file (repeat for more)")->required();
  train
      ->add_option("--format", a.format,
                   "text (each file one document) or jsonl (one JSON object per line, its --field "
                   "string one document); auto: jsonl for .jsonl/.ndjson files")
      ->check(CLI::IsMember({"auto", "text", "jsonl"}))
      ->capture_default_str();
  train->add_option("--field", a.field, "the JSONL field holding the text")->capture_default_str();
  train
      ->add_option("--vocab-size", a.vocab_size,
                   "tokens in the vocabulary: 256 bytes + special tokens + merges")
      ->required();
  train->add_option("--out", a.out, "the vocabulary GGUF to write (replaced crash-safely)")
      ->required();
  train
      ->add_option("--special", a.specials,
                   "a special token, one id each, after the 256 byte tokens (repeat; default: "
                   "<|endoftext|> <|im_start|> <|im_end|>)")
      // One token per flag, taken verbatim: CLI11 would otherwise read "[AGENT]" as a list.
      ->allow_extra_args(false);
  train
      ->add_option("--special-type", a.special_type,
                   "control: matched in text only where the caller parses special tokens (chat "
                   "templates); user: matched in any text")
      ->check(CLI::IsMember({"control", "user"}))
      ->capture_default_str();
  train->add_option("--bos", a.bos, "BOS token (default <|endoftext|> if special)");
  train->add_option("--eos", a.eos, "EOS token (default <|im_end|>, else <|endoftext|>)");
  train->add_option("--pad", a.pad, "padding token (default <|endoftext|> if special)");
  train->add_flag("--no-add-bos", a.no_add_bos, "tokenizer.ggml.add_bos_token = false");
  train
      ->add_option("--chat-template", a.chat_template,
                   "tokenizer.chat_template: chatml, none, a Jinja FILE, or auto (ChatML when "
                   "<|im_start|> and <|im_end|> are special tokens)")
      ->capture_default_str();
  train
      ->add_option("--min-frequency", a.min_frequency,
                   "merge only pairs that occur at least this often")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("-t,--threads", a.threads, "threads for counting words (default: all)");
  app.footer(
      "examples:\n"
      "  odlm tokenizer train --input corpus.txt --vocab-size 8192 --out vocab.gguf\n"
      "  odlm tokenizer train --input train.jsonl --format jsonl --field text \\\n"
      "      --vocab-size 32000 --special '<|endoftext|>' --special '<|im_start|>' \\\n"
      "      --special '<|im_end|>' --bos '<|endoftext|>' --eos '<|im_end|>' --out vocab.gguf\n"
      "  odlm tokenize -m vocab.gguf 'Hello world'\n"
      "  odlm gen-model -o model.gguf --preset tiny --vocab vocab.gguf\n");
  train->footer(app.get_footer());
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  return RunTrainTokenizer(std::move(a));
}

}  // namespace

ODLM_COMMAND("tokenizer", "tokenizer tools: train a byte-level BPE vocabulary", RunTokenizer);

}  // namespace odlm::cli
