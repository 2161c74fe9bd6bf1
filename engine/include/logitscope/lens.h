// SPDX-License-Identifier: GPL-3.0-or-later
// The logit lens: the next-token distribution read from the residual stream after every layer
// (the model's final norm and lm_head applied to the hidden state that layer writes), for one
// position. The last layer's entry is the model's own output distribution.
#pragma once

#include <cstdint>
#include <span>
#include <stop_token>
#include <vector>

#include "logitscope/config.h"
#include "logitscope/events.h"
#include "logitscope/interventions.h"
#include "logitscope/model.h"

namespace logitscope {

struct LayerLens {
  int layer = 0;                     // index in the stack
  LayerKind kind = LayerKind::Mamba;
  std::vector<TopKEntry> top_k;      // best first
  double kl_to_final = 0.0;          // KL(P_final || P_layer), nats
  std::int64_t final_top1_rank = 0;  // rank here of the final distribution's best token (0 = best)
  float final_top1_prob = 0.0f;      // its probability here
};

// Runs ids[0..pos] (one prompt forward) and reads the lens at position `pos`. Throws
// logitscope::Error when pos is outside the ids or the backend cannot (yet) read it.
// `interventions` (validated here) apply from their from_position on. Throws Cancelled when `stop`
// is requested (between layers).
std::vector<LayerLens> logit_lens(const Model& model, std::span<const TokenId> ids, std::int64_t pos, int top_k = 10,
                                  const Interventions& interventions = {}, std::stop_token stop = {});

// From one layer's logits and the final layer's log-probabilities (both [vocab]): its entry.
LayerLens lens_entry(const float* logits, const std::vector<double>& final_logp, std::int64_t vocab, int top_k);

}  // namespace logitscope
