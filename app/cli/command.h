// SPDX-License-Identifier: GPL-3.0-or-later
// Subcommands of logitscope-cli register themselves here: each cmd_*.cpp defines one
// `static const CommandRegistration` so adding a command touches no shared file.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace logitscope::cli {

// args: the words after the subcommand name. Returns the process exit status.
using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::string name;
  std::string summary;  // one line for `logitscope-cli --help`
  std::string usage;    // full usage text for `logitscope-cli NAME --help`
  CommandFn run;
};

std::vector<Command>& command_registry();

struct CommandRegistration {
  explicit CommandRegistration(Command command) { command_registry().push_back(std::move(command)); }
};

}  // namespace logitscope::cli
