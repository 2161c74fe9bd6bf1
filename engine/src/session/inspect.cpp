// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/inspect.h"

#include <algorithm>
#include <cmath>

#include "backend/backend.h"
#include "logitscope/errors.h"

namespace logitscope {

PromptInternals inspect_prompt(const Model& model, std::span<const TokenId> ids, const InspectOptions& inspect,
                               std::stop_token stop) {
  if (ids.empty()) throw Error("inspect needs at least one token");
  if (std::int64_t(ids.size()) > model.max_context())
    throw Error("inspect: " + std::to_string(ids.size()) + " tokens exceed the context the model was loaded with (" +
                std::to_string(model.max_context()) + "; --max-context)");
  check_token_ids(ids, model.config().vocab_size);
  std::vector<std::int64_t> rows = inspect.attention_rows;
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  for (std::int64_t pos : rows)
    if (pos < 0 || pos >= std::int64_t(ids.size()))
      throw Error("inspect: attention row " + std::to_string(pos) + " is not a position of the " +
                  std::to_string(ids.size()) + " ids (expected 0.." + std::to_string(ids.size() - 1) + ")");
  Backend& backend = model.backend();
  auto state = backend.create_state(model.max_context());
  if (!backend.captures_internals()) (void)backend.internals(*state);  // throws the reason before any forward
  ForwardOptions options;
  options.capture_internals = true;
  options.capture_routing = false;
  options.capture_attention = inspect.attention;
  options.attention_rows = rows.empty() ? nullptr : &rows;
  backend.forward(*state, ids, options, stop);
  return backend.internals(*state);
}

double router_entropy(const RouterInternals& router, int experts, std::int64_t pos) {
  const float* s = router.scores.data() + pos * experts;
  double total = 0.0;
  for (int e = 0; e < experts; ++e) total += s[e];
  double h = 0.0;
  for (int e = 0; e < experts; ++e) {
    const double p = s[e] / total;
    if (p > 0.0) h -= p * std::log(p);
  }
  return h;
}

}  // namespace logitscope
