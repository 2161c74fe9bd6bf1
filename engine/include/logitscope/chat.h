// SPDX-License-Identifier: GPL-3.0-or-later
// Chat templates (Jinja2, rendered as transformers' apply_chat_template does) and the split of
// generated text into reasoning and answer. (API contract; owned by the chat-template work.)
#pragma once

#include <ctime>
#include <filesystem>
#include <functional>
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
  // nlohmann::json sorts object keys; use render_with() where key order matters (tool schemas go
  // through tojson and |items in that order).
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra = nlohmann::json::object()) const;

  // Renders with `context` (a JSON object) as the template's variables, key order preserved. As in
  // transformers: `tools` and `documents` default to None, `add_generation_prompt` to false, and
  // bos_token/eos_token (when set) are defined; entries of `context` override all of them.
  std::string render_with(const nlohmann::ordered_json& context) const;

  // strftime_now() formats this clock's time (default: the local time now). Tests pin it.
  void set_clock(std::function<std::tm()> now);

  // Where errors say the template came from ("chat_template.jinja").
  const std::string& source_name() const;

  const std::string& bos_token() const;
  const std::string& eos_token() const;
  void set_special_tokens(std::string bos, std::string eos);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits generated text into reasoning and answer at <think> ... </think>.
// - starts_in_thinking (the generation prompt ended with an open <think>): everything up to the
//   first </think> is reasoning.
// - Otherwise reasoning exists only when the text starts (after whitespace) with <think>; an empty
//   block (`<think></think>`, what thinking-off prompts and some models emit) gives empty reasoning.
//   A </think> with no <think> before it also closes reasoning (the prompt opened the block but the
//   caller did not say so), as vLLM's reasoning parsers do.
// - Reasoning is trimmed of surrounding whitespace, the answer of leading whitespace.
// Streaming: call it on the whole text generated so far. A trailing partial tag ("</thi", or "<th"
// at the very start) is withheld until it completes or cannot be a tag, so no tag fragment ever
// shows up in either part; apart from that and the trimming, both parts only grow.
struct ReasoningSplit {
  std::string reasoning;
  std::string answer;
  bool reasoning_open = false;   // </think> not seen yet
};
// `starts_in_thinking`: the prompt ended with an open <think> (the generation prompt opened it).
ReasoningSplit split_reasoning(std::string_view generated, bool starts_in_thinking,
                               std::string_view open_tag = "<think>", std::string_view close_tag = "</think>");

}  // namespace logitscope
