// SPDX-License-Identifier: GPL-3.0-or-later
// Parser for one line of `tegrastats` output, every Jetson generation from TX1 (L4T 28) to Thor
// (JetPack 7.2). Tokens are matched by keyword and by the shape of their value, never by position;
// what a line does not print stays unset. Unknown tokens end up in Sample::extras. Numbers are read
// with std::from_chars, so the process locale (which QCoreApplication sets from the environment)
// cannot turn `47.687` into 47.
#pragma once

#include <optional>
#include <string_view>

#include "logitscope/telemetry/sample.h"

namespace logitscope::telemetry {

// Returns std::nullopt for lines that are not tegrastats output: empty lines, `date` banners that
// logging scripts write, garbage. A line is accepted when it carries a `MM-DD-YYYY HH:MM:SS`
// prefix, a `RAM u/tMB` token or a CPU list; a cut-off line yields what it holds. Never throws.
std::optional<Sample> parse_tegrastats_line(std::string_view line);

}  // namespace logitscope::telemetry
