// SPDX-License-Identifier: GPL-3.0-or-later
#include "prompt_builder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "logitscope/chat.h"
#include "logitscope/model.h"
#include "logitscope/tokenizer.h"

namespace logitscope::gui {

std::vector<TokenId> text_to_ids_without_tokenizer(const std::string& text, std::int64_t vocab_size) {
  std::vector<TokenId> ids;
  std::istringstream words(text);
  std::string word;
  bool all_ids = true;
  while (words >> word) {
    const bool digits = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!digits || word.size() > 9 || std::stoll(word) >= vocab_size) {
      all_ids = false;
      break;
    }
    ids.push_back(TokenId(std::stoll(word)));
  }
  if (all_ids && !ids.empty()) return ids;
  ids.clear();
  for (unsigned char c : text) ids.push_back(TokenId(vocab_size > 0 ? c % vocab_size : c));
  return ids;
}

BuiltPrompt build_prompt(const Model& model, const std::vector<PromptTurn>& turns, bool enable_thinking) {
  return build_prompt(model.tokenizer(), model.chat_template(), model.config(), turns, enable_thinking);
}

BuiltPrompt build_prompt(const Tokenizer* tokenizer, const ChatTemplate* chat, const ModelConfig& config,
                         const std::vector<PromptTurn>& turns, bool enable_thinking) {
  BuiltPrompt prompt;
  if (tokenizer && chat) {
    nlohmann::json messages = nlohmann::json::array();
    for (const auto& turn : turns) messages.push_back({{"role", turn.role}, {"content", turn.content}});
    const std::string text = chat->render(messages, true, {{"enable_thinking", enable_thinking}});
    prompt.ids = tokenizer->encode(text, false);
    // The template may open the reasoning block itself; the reply then starts inside it.
    std::string tail = text;
    while (!tail.empty() && std::isspace(static_cast<unsigned char>(tail.back()))) tail.pop_back();
    prompt.starts_in_thinking = tail.size() >= 7 && tail.compare(tail.size() - 7, 7, "<think>") == 0;
    return prompt;
  }
  // No template: the turns' tokens one after another; with a tokenizer after BOS when the config
  // names one. Without a tokenizer the user typed the ids, so they are fed exactly as typed.
  if (tokenizer && config.bos_token_id >= 0) prompt.ids.push_back(TokenId(config.bos_token_id));
  for (const auto& turn : turns) {
    if (turn.role == "assistant") {
      prompt.ids.insert(prompt.ids.end(), turn.ids.begin(), turn.ids.end());
    } else if (tokenizer) {
      const auto ids = tokenizer->encode(turn.content, false);
      prompt.ids.insert(prompt.ids.end(), ids.begin(), ids.end());
    } else {
      const auto ids = text_to_ids_without_tokenizer(turn.content, config.vocab_size);
      prompt.ids.insert(prompt.ids.end(), ids.begin(), ids.end());
    }
  }
  return prompt;
}

}  // namespace logitscope::gui
