// SPDX-License-Identifier: GPL-3.0-or-later
// TokenEvent -> JSON, shared by `generate --jsonl`, `chat` and `serve`.
#pragma once

#include <nlohmann/json.hpp>

#include "logitscope/events.h"

namespace logitscope::cli {

nlohmann::json token_event_json(const TokenEvent& event);
// {"layer", "experts", "weights"} and "margin" where the backend reports it.
nlohmann::json routing_slice_json(const RoutingSlice& slice);
// Floats printed with 9 significant digits so logits and probabilities round-trip.
std::string dump_json(const nlohmann::json& value);

}  // namespace logitscope::cli
