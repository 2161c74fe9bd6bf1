// SPDX-License-Identifier: GPL-3.0-or-later
// `logitscope-cli template`: renders a chat template exactly as transformers' apply_chat_template
// would, so a prompt can be checked byte for byte against Python.
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "args.h"
#include "command.h"
#include "logitscope/chat.h"
#include "logitscope/errors.h"

namespace logitscope::cli {
namespace {

std::string read_text(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot read ") + what + " file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_template(const std::vector<std::string>& words) {
  Args args(words, {"template", "messages", "set"}, {"add-generation-prompt"});
  const std::string template_path = args.require("template");
  const std::string messages_path = args.require("messages");

  nlohmann::ordered_json input;
  try {
    input = nlohmann::ordered_json::parse(read_text(messages_path, "--messages"));
  } catch (const nlohmann::json::exception& e) {
    throw Error("--messages " + messages_path + " is not valid JSON: " + e.what());
  }
  // A list of messages, or {"messages": [...], "tools": [...], ...other template variables}.
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (input.is_array()) {
    context["messages"] = input;
  } else if (input.is_object() && input.contains("messages")) {
    context = input;
  } else {
    throw Error("--messages " + messages_path + ": expected a list of messages or an object with a 'messages' list");
  }
  if (args.has("add-generation-prompt")) context["add_generation_prompt"] = true;
  for (const auto& assignment : args.get_all("set")) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--set expects NAME=JSONVALUE, got '" + assignment + "'");
    try {
      context[assignment.substr(0, eq)] = nlohmann::ordered_json::parse(assignment.substr(eq + 1));
    } catch (const nlohmann::json::exception&) {
      throw Error("--set " + assignment.substr(0, eq) + ": '" + assignment.substr(eq + 1) +
                  "' is not a JSON value (strings need quotes: NAME='\"text\"')");
    }
  }

  std::string name = template_path;
  if (auto slash = name.find_last_of('/'); slash != std::string::npos) name = name.substr(slash + 1);
  ChatTemplate tmpl(read_text(template_path, "--template"), name);
  // SOURCE_DATE_EPOCH (the reproducible-builds convention) pins strftime_now, in UTC.
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    char* end = nullptr;
    long long seconds = std::strtoll(epoch, &end, 10);
    if (!end || *end) throw Error(std::string("SOURCE_DATE_EPOCH must be an integer, got '") + epoch + "'");
    tmpl.set_clock([seconds] {
      std::time_t t = static_cast<std::time_t>(seconds);
      std::tm tm{};
      gmtime_r(&t, &tm);
      return tm;
    });
  }
  const std::string text = tmpl.render_with(context);
  std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::cout.flush();
  return 0;
}

const CommandRegistration registration{Command{
    "template",
    "render a chat template (Jinja2, as transformers does)",
    "usage: logitscope-cli template --template FILE.jinja --messages FILE.json [--add-generation-prompt]\n"
    "                               [--set NAME=JSONVALUE ...]\n"
    "\n"
    "Prints the rendered prompt exactly (no newline added). FILE.json is a list of messages or an\n"
    "object {\"messages\": [...], \"tools\": [...], ...} whose other keys become template variables.\n"
    "--set adds or overrides a variable (e.g. --set enable_thinking=false). tools and documents\n"
    "default to None, as in transformers. SOURCE_DATE_EPOCH pins strftime_now (UTC).\n"
    "A template error exits non-zero with the template line on stderr.\n",
    run_template}};

}  // namespace
}  // namespace logitscope::cli
