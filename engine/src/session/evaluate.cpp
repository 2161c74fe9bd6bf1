// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/evaluate.h"

#include <algorithm>
#include <cmath>

#include "backend/backend.h"
#include "logitscope/errors.h"
#include "session/distribution.h"

namespace logitscope {

double TextScore::perplexity() const { return std::exp(mean_nll()); }

TextScore evaluate_text(const Model& model, std::span<const TokenId> ids, int top_k,
                        const std::function<void(const TokenScore&)>& on_token, std::int64_t chunk, std::stop_token stop,
                        const Interventions& interventions) {
  if (ids.size() < 2) throw Error("evaluate needs at least 2 tokens (the first only conditions the second)");
  if (std::int64_t(ids.size()) > model.max_context())
    throw Error("the text is " + std::to_string(ids.size()) + " tokens, more than the context the model was loaded with (" +
                std::to_string(model.max_context()) + "; --max-context)");
  const std::int64_t V = model.config().vocab_size;
  check_token_ids(ids, V);
  validate(interventions, model.config());
  Backend& backend = model.backend();
  auto state = backend.create_state(model.max_context());
  ForwardOptions options;
  options.all_logits = true;
  options.capture_routing = false;
  options.interventions = &interventions;
  top_k = std::clamp(top_k, 0, 50);
  TextScore total;
  // Row r of a chunk's logits is the distribution for the token after position start + r.
  for (std::size_t start = 0; start + 1 < ids.size(); start += std::size_t(chunk)) {
    const std::size_t n = std::min<std::size_t>(std::size_t(chunk), ids.size() - 1 - start);
    backend.forward(*state, ids.subspan(start, n), options, stop);
    const std::vector<float> logits = backend.logits(*state);
    for (std::size_t r = 0; r < n; ++r) {
      const TokenScore s =
          score_token(logits.data() + r * std::size_t(V), V, std::int64_t(start + r + 1), ids[start + r + 1], top_k);
      total.total_nll -= double(s.logprob);
      ++total.tokens;
      if (on_token) on_token(s);
    }
  }
  return total;
}

}  // namespace logitscope
