// SPDX-License-Identifier: GPL-3.0-or-later
#include "json_output.h"

#include <cmath>

namespace logitscope::cli {

nlohmann::json routing_slice_json(const RoutingSlice& r) {
  nlohmann::json out = {{"layer", r.layer}, {"experts", r.experts}, {"weights", r.weights}};
  if (std::isfinite(r.margin)) out["margin"] = r.margin;
  return out;
}

nlohmann::json token_event_json(const TokenEvent& e) {
  nlohmann::json top = nlohmann::json::array();
  for (const TopKEntry& t : e.top_k) top.push_back({{"id", t.id}, {"prob", t.prob}, {"logprob", t.logprob}, {"logit", t.logit}});
  nlohmann::json routing = nlohmann::json::array();
  for (const RoutingSlice& r : e.routing) routing.push_back(routing_slice_json(r));
  nlohmann::json out = {{"pos", e.pos},         {"id", e.id},           {"prob", e.prob},
                        {"logprob", e.logprob}, {"entropy", e.entropy}, {"forced", e.forced},
                        {"top_k", top},         {"routing", routing},
                        {"timing", {{"forward_ms", e.timing.forward_ms}, {"sample_ms", e.timing.sample_ms}}}};
  out["text"] = e.text;
  return out;
}

std::string dump_json(const nlohmann::json& value) {
  // Invalid UTF-8 in token text (a byte-level piece) is replaced rather than thrown on.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace logitscope::cli
