// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the Jinja chat-template lexer, parser and renderer: the input is the template source,
// rendered against a fixed conversation (system, user, assistant with reasoning and a tool call,
// tool result) and tool list, with and without the generation prompt. A template may fail
// (logitscope::Error with its line), never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "logitscope/chat.h"
#include "logitscope/errors.h"

namespace {
const nlohmann::json& messages() {
  static const nlohmann::json m = nlohmann::json::parse(R"([
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris? \u00e9\ud83d\ude00"},
    {"role": "assistant", "content": "<think>call the tool</think>", "reasoning_content": "call the tool",
     "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "assistant", "content": [{"type": "text", "text": "21 C"}]},
    {"role": "user", "content": ""}
  ])");
  return m;
}
const nlohmann::json& extra() {
  static const nlohmann::json e = nlohmann::json::parse(R"({
    "enable_thinking": true, "bos_token": "<s>", "eos_token": "</s>",
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
  })");
  return e;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  try {
    logitscope::ChatTemplate tmpl(source, "fuzz.jinja");
    tmpl.set_clock([] {
      std::tm tm{};
      tm.tm_year = 125;
      tm.tm_mday = 1;
      return tm;
    });
    for (bool generation_prompt : {false, true}) {
      try {
        (void)tmpl.render(messages(), generation_prompt, extra());
      } catch (const logitscope::Error&) {
      }
    }
  } catch (const logitscope::Error&) {
  }
  return 0;
}
