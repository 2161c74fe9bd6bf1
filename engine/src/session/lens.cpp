// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/lens.h"

#include <algorithm>
#include <cmath>

#include "backend/backend.h"
#include "logitscope/errors.h"
#include "session/distribution.h"

namespace logitscope {


LayerLens lens_entry(const float* logits, const std::vector<double>& final_logp, std::int64_t vocab, int top_k) {
  const std::vector<double> logp = log_softmax(logits, vocab);
  LayerLens out;
  const auto final_best = std::size_t(std::max_element(final_logp.begin(), final_logp.end()) - final_logp.begin());
  for (std::int64_t v = 0; v < vocab; ++v) {
    const double pf = std::exp(final_logp[std::size_t(v)]);
    if (pf > 0.0) out.kl_to_final += pf * (final_logp[std::size_t(v)] - logp[std::size_t(v)]);
    out.final_top1_rank += logp[std::size_t(v)] > logp[final_best];
  }
  out.kl_to_final = std::max(out.kl_to_final, 0.0);
  out.final_top1_prob = float(std::exp(logp[final_best]));
  out.top_k = top_entries(logp, logits, top_k);
  return out;
}

std::vector<LayerLens> logit_lens(const Model& model, std::span<const TokenId> ids, std::int64_t pos, int top_k,
                                  const Interventions& interventions, std::stop_token stop) {
  if (pos < 0 || pos >= std::int64_t(ids.size()))
    throw Error("lens position " + std::to_string(pos) + " is outside the " + std::to_string(ids.size()) + " ids");
  if (pos + 1 > model.max_context()) throw Error("lens: position " + std::to_string(pos) + " is past the model's context");
  const ModelConfig& c = model.config();
  const std::int64_t V = c.vocab_size;
  check_token_ids(ids, V);
  validate(interventions, c);
  Backend& backend = model.backend();
  auto state = backend.create_state(model.max_context());
  ForwardOptions options;
  options.capture_routing = false;
  options.lens_last = true;
  options.interventions = &interventions;
  backend.forward(*state, ids.subspan(0, std::size_t(pos + 1)), options, stop);
  const std::vector<float> rows = backend.lens_logits(*state);  // [layers, vocab]
  const std::int64_t L = std::int64_t(c.layers.size());
  if (std::int64_t(rows.size()) != L * V) throw Error("lens: the backend returned " + std::to_string(rows.size()) + " values");
  const std::vector<double> final_logp = log_softmax(rows.data() + (L - 1) * V, V);
  std::vector<LayerLens> out;
  for (std::int64_t l = 0; l < L; ++l) {
    if (stop.stop_requested()) throw Cancelled("lens cancelled");
    LayerLens entry = lens_entry(rows.data() + l * V, final_logp, V, std::clamp(top_k, 1, 50));
    entry.layer = int(l);
    entry.kind = c.layers[std::size_t(l)];
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace logitscope
