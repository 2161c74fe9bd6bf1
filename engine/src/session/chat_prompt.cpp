// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/chat_prompt.h"

#include <algorithm>

#include "logitscope/chat.h"
#include "logitscope/errors.h"
#include "logitscope/tokenizer.h"

namespace logitscope {

bool ends_in_open_reasoning(const std::string& text, const std::string& open_tag, const std::string& close_tag) {
  const auto open = text.rfind(open_tag);
  if (open == std::string::npos) return false;
  const auto close = text.rfind(close_tag);
  return close == std::string::npos || close < open;
}

ChatPrompt build_chat_prompt(const Model& model, const nlohmann::json& messages, bool enable_thinking,
                             const nlohmann::json& extra) {
  const Tokenizer* tokenizer = model.tokenizer();
  const ChatTemplate* chat_template = model.chat_template();
  const std::string where = model.info().snapshot_dir.string();
  if (!tokenizer) throw Error(where + " has no tokenizer.json, so it cannot chat (use token ids with `generate`)");
  if (!chat_template)
    throw Error(where + " has no chat template (chat_template.jinja or tokenizer_config.json's chat_template)");
  nlohmann::json variables = extra.is_object() ? extra : nlohmann::json::object();
  variables["enable_thinking"] = enable_thinking;
  ChatPrompt prompt;
  prompt.text = chat_template->render(messages, /*add_generation_prompt=*/true, variables);
  prompt.ids = tokenizer->encode(prompt.text, /*add_special_tokens=*/false);
  prompt.starts_in_thinking = ends_in_open_reasoning(prompt.text);
  if (auto id = tokenizer->token_to_id("<think>")) prompt.think_start_id = *id;
  if (auto id = tokenizer->token_to_id("</think>")) prompt.think_end_id = *id;
  prompt.stop_ids = model.info().stop_ids;
  return prompt;
}

GenerateOptions chat_generate_options(const ChatPrompt& prompt, int max_new_tokens, int thinking_budget) {
  GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  options.stop_ids = prompt.stop_ids;
  if (options.stop_ids.empty()) options.stop_ids = {-1};  // never stop early on an unknown eos
  options.starts_in_thinking = prompt.starts_in_thinking;
  options.think_start_id = prompt.think_start_id;
  options.think_end_id = prompt.think_end_id;
  options.thinking_budget = thinking_budget;
  return options;
}

}  // namespace logitscope
