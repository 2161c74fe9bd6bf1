// SPDX-License-Identifier: GPL-3.0-or-later
// Plain value types that describe what the model did for one generated token. They cross threads
// (engine worker -> GUI) and processes (CLI JSON, HTTP), so they hold no pointers into the engine.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "logitscope/types.h"

namespace logitscope {

// One candidate of the next-token distribution.
struct TopKEntry {
  TokenId id = 0;
  float prob = 0.0f;     // softmax of the raw logits (temperature 1, no truncation)
  float logprob = 0.0f;  // natural log of prob
  float logit = 0.0f;
};

// The experts one MoE layer chose for one token.
struct RoutingSlice {
  int layer = 0;                // index in the full layer stack (not among MoE layers)
  std::vector<int> experts;     // [num_experts_per_tok], in descending selection score
  std::vector<float> weights;   // [num_experts_per_tok], combine weights incl. routed_scaling_factor
  // How close the choice was: the selection score (sigmoid + correction bias) of the last chosen
  // expert minus that of the best one left out; with group-limited routing the smaller of that and
  // the gap between the last kept and the best dropped group score. A near-tie (tiny margin) can
  // flip under rounding. NaN where the backend does not report it.
  float margin = std::numeric_limits<float>::quiet_NaN();
};

struct StepTiming {
  double forward_ms = 0.0;  // the forward pass that produced this token's distribution
  double sample_ms = 0.0;   // softmax, top-k, entropy and sampling
};

struct TokenEvent {
  std::int64_t pos = 0;  // position of this token in the sequence (0-based)
  TokenId id = 0;
  std::string text;      // decoded text that became complete with this token (UTF-8 safe), may be empty
  std::string bytes;     // the raw bytes of this token alone (may be a partial UTF-8 sequence)
  bool forced = false;   // chosen by the caller rather than sampled
  bool end_of_turn = false;  // a stop id (end of turn / sequence): shown as a token, never part of the reply text
  float prob = 0.0f;     // probability of `id` under the raw model distribution
  float logprob = 0.0f;
  float entropy = 0.0f;  // entropy of the raw model distribution, in nats
  std::vector<TopKEntry> top_k;        // the distribution this token was drawn from, best first
  std::vector<RoutingSlice> routing;   // every MoE layer, from the forward pass whose input was pos-1
  StepTiming timing;
};

}  // namespace logitscope
