// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the tegrastats line parser: every line of the input, and the input as one line. The
// parser promises never to throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "logitscope/telemetry/tegrastats_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto whole = logitscope::telemetry::parse_tegrastats_line(text);
  (void)whole;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto sample = logitscope::telemetry::parse_tegrastats_line(text.substr(start, end - start));
    (void)sample;
    start = end + 1;
  }
  return 0;
}
