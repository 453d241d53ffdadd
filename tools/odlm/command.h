// tools/odlm/command.h — how subcommands of the one `odlm` binary register themselves.
//
// Each subcommand lives in its own cmd_<name>.cc and registers at static-init time:
//   ODLM_COMMAND("gguf-info", "print a GGUF file's metadata and tensor table", RunGgufInfo);
// `int RunGgufInfo(int argc, char** argv)` gets argv[0] == "odlm gguf-info" and the arguments after
// the subcommand. Exit codes: 0 success, 1 runtime failure, 2 usage error (see ExitCode).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace odlm::cli {

enum ExitCode { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

using CommandFn = std::function<int(int argc, char** argv)>;

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
};

// All registered commands, sorted by name.
std::vector<Command>& Commands();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, CommandFn fn);
};

}  // namespace odlm::cli

#define ODLM_COMMAND_CONCAT_INNER(a, b) a##b
#define ODLM_COMMAND_CONCAT(a, b) ODLM_COMMAND_CONCAT_INNER(a, b)
#define ODLM_COMMAND(name, summary, fn)                                                            \
  static ::odlm::cli::CommandRegistrar ODLM_COMMAND_CONCAT(odlm_command_, __LINE__)(name, summary, \
                                                                                    fn)
