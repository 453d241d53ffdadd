// tools/odlm/cmd_tokenize.cc — `odlm tokenize [-m FILE] [--no-bos] [--stdin] TEXT`: the token ids
// of TEXT (or of each line of standard input) under a model's tokenizer, one line of ids per
// input. Works on vocabulary-only GGUF files too; without -m, the build's default model (as every
// model command).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "command.h"
#include "common_options.h"
#include "gguf/gguf_reader.h"
#include "platform/file_util.h"
#include "tokenizer/tokenizer.h"

namespace odlm::cli {
namespace {

void PrintIds(const std::vector<int32_t>& ids, bool with_pieces, const Tokenizer& tok) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
    if (with_pieces) line += ":'" + tok.TokenText(ids[i]) + "'";
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

int RunTokenize(int argc, char** argv) {
  CLI::App app(
      "Print the token ids of TEXT (or of each line of standard input with --stdin), "
      "separated by spaces, one line per input.\n\n"
      "examples:\n  odlm tokenize \"Hello world\"                  # the default model's "
      "tokenizer\n"
      "  odlm tokenize -m model.gguf --show-pieces \"Hello world\"\n"
      "  printf 'one\\ntwo\\n' | odlm tokenize -m vocab.gguf --stdin --no-bos",
      argv[0]);
  std::string model;
  std::string text;
  bool no_bos = false, from_stdin = false, parse_special = false, show_pieces = false;
  app.add_option("-m,--model", model,
                 "GGUF model or vocabulary-only file (default: the build's generated model)");
  app.add_flag("--no-bos", no_bos, "do not add the BOS token (added when the model asks for it)");
  app.add_flag("--stdin", from_stdin, "tokenize each line of standard input (without its newline)");
  app.add_flag("--parse-special", parse_special,
               "match special-token texts such as <|im_start|> as single tokens");
  app.add_flag("--show-pieces", show_pieces, "print each id as ID:'token text'");
  app.add_option("text", text, "the text to tokenize (not with --stdin)");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;
  const bool have_text = app.count("text") > 0;
  if (from_stdin == have_text) {
    std::fprintf(stderr, "%s: give either TEXT or --stdin (exactly one)\n(see %s --help)\n",
                 argv[0], argv[0]);
    return kExitUsage;
  }
  if (model.empty()) {
    model = ODLM_DEFAULT_MODEL;
    if (!FileExists(model)) {
      std::fprintf(stderr,
                   "%s: no -m given and the default model %s does not exist; build odlm first "
                   "(bash scripts/build.sh) or pass -m FILE.gguf\n",
                   argv[0], model.c_str());
      return kExitFailure;
    }
  }
  auto file = GgufFile::Open(model);
  if (!file.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], file.status().ToString().c_str());
    return kExitFailure;
  }
  auto tok = Tokenizer::FromGguf(**file);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s: %s: %s\n", argv[0], model.c_str(), tok.status().ToString().c_str());
    return kExitFailure;
  }
  const bool add_bos = !no_bos && (*tok)->add_bos();
  if (!from_stdin) {
    PrintIds((*tok)->Encode(text, add_bos, parse_special), show_pieces, **tok);
    return kExitOk;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    PrintIds((*tok)->Encode(line, add_bos, parse_special), show_pieces, **tok);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("tokenize", "print the token ids of a text under a model's tokenizer", RunTokenize);

}  // namespace odlm::cli
