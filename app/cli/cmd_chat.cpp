// SPDX-License-Identifier: GPL-3.0-or-later
// logitscope-cli chat: one chat turn through the model's own template. Prints the reasoning and the
// answer apart, the statistics line the seed notebook printed, and the top-5 alternatives of the
// first generated token.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "command.h"
#include "logitscope/chat.h"
#include "logitscope/chat_prompt.h"
#include "logitscope/errors.h"
#include "logitscope/session.h"
#include "logitscope/tokenizer.h"
#include "model_options.h"

namespace logitscope::cli {
namespace {

// Peak resident memory of this process (VmHWM), in bytes; 0 where /proc is absent.
std::uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run_chat(const std::vector<std::string>& words) {
  const Args args(words, merge({kModelOptions, kSamplingOptions, {"message", "system", "max-new", "thinking-budget"}}),
                  merge({kSamplingFlags, {"no-think", "show-prompt"}}));
  const std::string message = args.require("message");
  const int max_new = static_cast<int>(args.get_int("max-new", 256));
  if (max_new <= 0) throw Error("option --max-new must be positive");
  auto model = Model::load(load_options_from(args));
  nlohmann::json messages = nlohmann::json::array();
  if (auto system = args.get("system")) messages.push_back({{"role", "system"}, {"content", *system}});
  messages.push_back({{"role", "user"}, {"content", message}});
  const ChatPrompt prompt = build_chat_prompt(*model, messages, !args.has("no-think"));
  if (args.has("show-prompt")) std::cout << "[prompt]\n" << prompt.text << "\n";

  Session session(*model);
  session.prefill(prompt.ids);
  ProbeOptions probe;
  probe.top_k = 5;
  probe.routing = false;
  const GenerateResult result = session.generate(
      chat_generate_options(prompt, max_new, static_cast<int>(args.get_int("thinking-budget", -1))),
      sampling_from(args), probe);

  std::vector<TokenId> generated;
  for (const TokenEvent& e : result.events)
    if (!e.end_of_turn) generated.push_back(e.id);  // the stop token (e.g. <|im_end|>) is not part of the answer
  const std::string text = model->tokenizer()->decode(generated, /*skip_special_tokens=*/false);
  const ReasoningSplit split = split_reasoning(text, prompt.starts_in_thinking);
  if (!split.reasoning.empty() || prompt.starts_in_thinking) {
    std::cout << "[reasoning]\n" << split.reasoning << (split.reasoning_open ? "\n(reasoning not finished)" : "") << "\n\n";
  }
  std::cout << "[answer]\n" << split.answer << "\n\n";

  const double time_s = (result.prefill_ms + result.decode_ms) / 1000.0;
  const double tok_per_s = result.decode_ms > 0 ? result.events.size() / (result.decode_ms / 1000.0) : 0.0;
  const double peak_gb = double(std::max<std::uint64_t>(peak_rss_bytes(), model->info().device_bytes)) / 1e9;
  std::ostringstream stats;
  stats << std::fixed << std::setprecision(2) << "prompt_tokens=" << prompt.ids.size()
        << " new_tokens=" << result.events.size() << " time_s=" << time_s << " tok_per_s=" << tok_per_s
        << " peak_mem_gb=" << peak_gb;
  std::cout << stats.str() << "\n";
  if (!result.events.empty()) {
    std::cout << "first token top-5:";
    for (const TopKEntry& t : result.events.front().top_k)
      std::cout << "  " << quoted(model->tokenizer()->decode(std::vector<TokenId>{t.id})) << " " << std::setprecision(3)
                << std::fixed << t.prob;
    std::cout << "\n";
  }
  return 0;
}

const CommandRegistration registration{{
    "chat",
    "one chat turn through the model's template: reasoning, answer, speed",
    std::string("usage: logitscope-cli chat --model M --message \"...\" [--no-think] [--max-new N]\n"
                "                           [--system TEXT] [--thinking-budget N] [--show-prompt] [sampling options]\n\n"
                "Renders the model's chat template (enable_thinking on unless --no-think), generates, and prints\n"
                "the reasoning and the answer separately, then\n"
                "prompt_tokens=.. new_tokens=.. time_s=.. tok_per_s=.. peak_mem_gb=.. and the top-5\n"
                "alternatives of the first generated token. --thinking-budget N forces </think> after N\n"
                "reasoning tokens so the answer keeps its share of --max-new.\n\n") +
        kSamplingOptionsUsage + kModelOptionsUsage,
    run_chat,
}};

}  // namespace
}  // namespace logitscope::cli
