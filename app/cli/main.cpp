// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli: the engine from a terminal. Subcommands live in cmd_*.cpp and register themselves.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "logitscope/errors.h"
#include "logitscope/version.h"

namespace logitscope::cli {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

}  // namespace logitscope::cli

namespace {

void print_help(std::ostream& out) {
  auto commands = logitscope::cli::command_registry();
  std::sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.name < b.name; });
  out << "usage: logitscope-cli COMMAND [options]\n\ncommands:\n";
  for (const auto& command : commands) {
    out << "  " << command.name << std::string(command.name.size() < 12 ? 12 - command.name.size() : 1, ' ')
        << command.summary << "\n";
  }
  out << "\n`logitscope-cli COMMAND --help` shows a command's options; --version prints the version.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    print_help(words.empty() ? std::cerr : std::cout);
    return words.empty() ? 2 : 0;
  }
  if (words[0] == "--version" || words[0] == "version") {
    std::cout << "logitscope-cli " << logitscope::version_string() << "\n";
    return 0;
  }
  const auto& commands = logitscope::cli::command_registry();
  auto it = std::find_if(commands.begin(), commands.end(), [&](auto& c) { return c.name == words[0]; });
  if (it == commands.end()) {
    std::cerr << "logitscope-cli: unknown command '" << words[0] << "'\n";
    print_help(std::cerr);
    return 2;
  }
  std::vector<std::string> args(words.begin() + 1, words.end());
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << it->usage;
    return 0;
  }
  try {
    return it->run(args);
  } catch (const logitscope::Cancelled& e) {
    std::cerr << "logitscope-cli " << it->name << ": " << e.what() << "\n";
    return 130;
  } catch (const std::exception& e) {
    std::cerr << "logitscope-cli " << it->name << ": error: " << e.what() << "\n";
    return 1;
  }
}
