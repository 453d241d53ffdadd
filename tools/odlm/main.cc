// tools/odlm/main.cc — entry point of the odlm command line: dispatches to a registered subcommand.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "command.h"

namespace odlm::cli {

std::vector<Command>& Commands() {
  static std::vector<Command> commands;
  return commands;
}

CommandRegistrar::CommandRegistrar(const char* name, const char* summary, CommandFn fn) {
  auto& all = Commands();
  all.push_back({name, summary, std::move(fn)});
  std::sort(all.begin(), all.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
}

namespace {

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "odlm — on-device language models\n\n"
               "usage: odlm <command> [options]   (odlm <command> --help for each)\n\ncommands:\n");
  for (const auto& c : Commands())
    std::fprintf(out, "  %-14s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(out, "\nexample: odlm run -m model.gguf -p \"Once upon a time\" -n 64\n");
}

}  // namespace
}  // namespace odlm::cli

int main(int argc, char** argv) {
  using namespace odlm::cli;
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  if (name == "--version") {
    std::printf("odlm 0.1.0\n");
    return kExitOk;
  }
  for (const auto& c : Commands()) {
    if (c.name == name) {
      std::string prog = "odlm " + name;
      std::vector<char*> args;
      args.push_back(prog.data());
      for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
      return c.run(static_cast<int>(args.size()), args.data());
    }
  }
  std::fprintf(stderr, "odlm: unknown command '%s'\n\n", name.c_str());
  PrintUsage(stderr);
  return kExitUsage;
}
