// SPDX-License-Identifier: GPL-3.0-or-later
// From a conversation to what the session needs: the model's chat template rendered with
// add_generation_prompt (and enable_thinking), the ids, whether the prompt leaves a reasoning block
// open, the reasoning tags' ids and the stop ids. Shared by `chat`, `serve` and the workbench.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "logitscope/model.h"
#include "logitscope/session.h"

namespace logitscope {

struct ChatPrompt {
  std::string text;                  // the rendered template, exactly as the model sees it
  std::vector<TokenId> ids;          // text tokenized without adding special tokens (as HF does)
  bool starts_in_thinking = false;   // the prompt ends inside an open <think> block
  TokenId think_start_id = -1;       // <think>, when the vocabulary has it
  TokenId think_end_id = -1;         // </think>
  std::vector<TokenId> stop_ids;     // the model's stop ids (ModelInfo::stop_ids)
};

// Throws logitscope::Error when the model has no tokenizer or chat template, or the template fails.
// `extra` adds template variables (e.g. tools); enable_thinking is always passed.
ChatPrompt build_chat_prompt(const Model& model, const nlohmann::json& messages, bool enable_thinking,
                             const nlohmann::json& extra = nlohmann::json::object());

// Generation options for a chat turn: stop ids, reasoning tags, and the thinking budget (-1 = none).
GenerateOptions chat_generate_options(const ChatPrompt& prompt, int max_new_tokens, int thinking_budget = -1);

// True when `text` ends inside an open reasoning block (the last <think> comes after the last </think>).
bool ends_in_open_reasoning(const std::string& text, const std::string& open_tag = "<think>",
                            const std::string& close_tag = "</think>");

}  // namespace logitscope
