// SPDX-License-Identifier: GPL-3.0-or-later
// Turns the conversation into the token ids the session is fed: through the model's chat template
// and tokenizer when it has them, else turn by turn (fixture checkpoints have neither; their user
// text is read as token ids). Runs on the worker thread, where the model lives.
#pragma once

#include <string>
#include <vector>

#include "engine_types.h"
#include "logitscope/types.h"

namespace logitscope {
class ChatTemplate;
class Model;
class Tokenizer;
struct ModelConfig;
}

namespace logitscope::gui {

struct BuiltPrompt {
  std::vector<TokenId> ids;
  bool starts_in_thinking = false;  // the generation prompt opened <think>
};

BuiltPrompt build_prompt(const Model& model, const std::vector<PromptTurn>& turns, bool enable_thinking);
// The same from the parts (tests pass their own tokenizer and template); either may be null.
BuiltPrompt build_prompt(const Tokenizer* tokenizer, const ChatTemplate* chat, const ModelConfig& config,
                         const std::vector<PromptTurn>& turns, bool enable_thinking);

// Without a tokenizer: whitespace-separated integers below `vocab_size` are token ids; any other
// text becomes its UTF-8 bytes modulo the vocabulary (so a fixture model can still be chatted to).
std::vector<TokenId> text_to_ids_without_tokenizer(const std::string& text, std::int64_t vocab_size);

}  // namespace logitscope::gui
