// SPDX-License-Identifier: GPL-3.0-or-later
// Locale-independent number reading for the parsers. std::from_chars ignores LC_NUMERIC, unlike
// strtod/atof/stod/sscanf, which a Qt application's setlocale(LC_ALL, "") would redirect.
#pragma once

#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

namespace logitscope::telemetry::detail {

// The whole of `text` must be a decimal number (optional leading '-'); nothing else is accepted.
inline std::optional<double> to_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::fixed);
  if (ec != std::errc() || ptr != last || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Leading number of `text`; `rest` receives what follows it (a unit, a '%', ...).
inline std::optional<double> leading_number(std::string_view text, std::string_view& rest) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::fixed);
  if (ec != std::errc() || ptr == first || !std::isfinite(value)) return std::nullopt;
  rest = text.substr(static_cast<std::size_t>(ptr - first));
  return value;
}

inline bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

inline std::string_view trim(std::string_view text) {
  const char* ws = " \t\r\n\v\f";
  auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = text.find_last_not_of(ws);
  return text.substr(b, e - b + 1);
}

}  // namespace logitscope::telemetry::detail
