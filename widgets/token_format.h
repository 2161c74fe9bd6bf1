// SPDX-License-Identifier: GPL-3.0-or-later
// How a token looks on screen: whitespace and raw bytes made visible, and the colour for a
// probability. Pure functions so the tests can check exactly what the strip paints.
#pragma once

#include <QColor>
#include <QString>

#include <string>

#include "logitscope/events.h"

namespace logitscope::widgets {

// Visible form of a token's raw bytes: ' ' -> '·', '\n' -> '↵', '\t' -> '→', other control bytes
// and bytes that are not part of a complete UTF-8 sequence -> <0xNN>. An empty byte string (a
// model without tokenizer) shows as <id>.
QString visible_token(const std::string& bytes, TokenId id);

// The label for an event: its raw bytes when known, else <id>.
inline QString visible_token(const TokenEvent& event) { return visible_token(event.bytes, event.id); }

// True when the token is only whitespace or holds bytes outside complete UTF-8 characters; the
// strip draws such tokens with a dashed outline so they are not mistaken for nothing.
bool is_special_looking(const std::string& bytes);

// Background colour of a token chip for probability `prob` (0..1). Low probability is red, high is
// green, through yellow; `dark` picks a darker lightness so light text stays readable.
QColor probability_color(float prob, bool dark);

// "12.3%" / "0.04%" / "<0.01%".
QString format_percent(double prob);

}  // namespace logitscope::widgets
