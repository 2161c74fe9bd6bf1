// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes config.json parsing (parse_model_config): any input either gives a config or a
// logitscope::Error, never a crash, a leak or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "logitscope/config.h"
#include "logitscope/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    logitscope::ModelConfig config = logitscope::parse_model_config(text, "config.json");
    (void)config;
  } catch (const logitscope::Error&) {
  }
  return 0;
}
