// SPDX-License-Identifier: GPL-3.0-or-later
// The surprise of a text: every token's log-probability given the tokens before it, with the
// model's top alternatives there, from prompt forwards (teacher forcing) in chunks so that a long
// text needs memory for one chunk's logits only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <vector>

#include "logitscope/events.h"
#include "logitscope/interventions.h"
#include "logitscope/model.h"

namespace logitscope {

struct TokenScore {
  std::int64_t pos = 0;              // >= 1: ids[pos] scored given ids[0..pos-1]
  TokenId id = 0;
  float logprob = 0.0f;              // log P(ids[pos] | ids[0..pos-1]), natural log
  float entropy = 0.0f;              // of that distribution, nats
  std::int64_t rank = 0;             // 0 = the model's best guess
  std::vector<TopKEntry> top_k;      // best first
};

struct TextScore {
  std::int64_t tokens = 0;           // scored positions (ids.size() - 1)
  double total_nll = 0.0;            // nats
  double mean_nll() const { return tokens ? total_nll / double(tokens) : 0.0; }
  double perplexity() const;
};

// Scores ids[1..] given their prefixes. `on_token` sees each position as its chunk completes;
// `chunk` tokens run per forward (the last position of a chunk is carried into the next).
// `interventions` (validated here) apply from their from_position on.
// Throws logitscope::Error for fewer than 2 ids or more than the model's context.
TextScore evaluate_text(const Model& model, std::span<const TokenId> ids, int top_k,
                        const std::function<void(const TokenScore&)>& on_token, std::int64_t chunk = 512,
                        std::stop_token stop = {}, const Interventions& interventions = {});

}  // namespace logitscope
