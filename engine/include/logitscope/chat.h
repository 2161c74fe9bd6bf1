// SPDX-License-Identifier: GPL-3.0-or-later
// Chat templates (Jinja2, rendered as transformers' apply_chat_template does) and the split of
// generated text into reasoning and answer. (API contract; owned by the chat-template work.)
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace logitscope {

class ChatTemplate {
 public:
  // Parses template source (CRLF normalised). `source` names it in error messages.
  ChatTemplate(std::string_view template_text, std::string source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // From a snapshot folder: chat_template.jinja, else tokenizer_config.json's chat_template (string
  // or named list, "default" first). bos/eos tokens from tokenizer_config.json. Null if none.
  static std::unique_ptr<ChatTemplate> from_snapshot(const std::filesystem::path& dir);

  // messages: [{"role": ..., "content": ...}, ...]; extra: variables such as enable_thinking.
  // Throws logitscope::Error with the template line when the template raises or fails.
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra = nlohmann::json::object()) const;

  const std::string& bos_token() const;
  const std::string& eos_token() const;
  void set_special_tokens(std::string bos, std::string eos);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits generated text into reasoning and answer at <think> ... </think>.
struct ReasoningSplit {
  std::string reasoning;
  std::string answer;
  bool reasoning_open = false;   // </think> not seen yet
};
// `starts_in_thinking`: the prompt ended with an open <think> (the generation prompt opened it).
ReasoningSplit split_reasoning(std::string_view generated, bool starts_in_thinking,
                               std::string_view open_tag = "<think>", std::string_view close_tag = "</think>");

}  // namespace logitscope
