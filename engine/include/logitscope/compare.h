// SPDX-License-Identifier: GPL-3.0-or-later
// Two models on the same tokens (teacher forcing): per position, how far model B's next-token
// distribution is from model A's (KL), whether their best guesses agree, and how much their MoE
// layers' expert sets overlap. For BF16 against its FP8/NVFP4 form, a base against a fine-tune, or
// a model against itself with an intervention.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "logitscope/events.h"
#include "logitscope/interventions.h"
#include "logitscope/model.h"

namespace logitscope {

struct LayerOverlap {
  int layer = 0;                     // index in the full layer stack
  double jaccard = 1.0;              // |A ∩ B| / |A ∪ B| of the chosen experts
};

// Position `pos` (>= 1): the distributions both models give for token ids[pos] after ids[0..pos-1],
// and the routing of that forward pass (whose input was ids[pos - 1]).
struct TokenComparison {
  std::int64_t pos = 0;
  TokenId id = 0;
  double kl = 0.0;                   // KL(P_A || P_B) in nats, over the whole vocabulary
  bool top1_agree = true;
  double logprob_a = 0.0, logprob_b = 0.0;  // of ids[pos]
  std::vector<LayerOverlap> expert_overlap;  // every MoE layer that either side ran (a skipped one: no experts)
  std::vector<TopKEntry> top_k_a, top_k_b;   // best first
};

struct ComparisonSummary {
  std::int64_t positions = 0;
  double mean_kl = 0.0, max_kl = 0.0;
  double top1_agreement = 1.0;       // fraction of positions
  std::int64_t first_disagreement = -1;  // first position whose best guesses differ (-1: none)
  double nll_a = 0.0, nll_b = 0.0;   // mean negative log-likelihood of the tokens
  std::vector<int> layers;           // MoE layers, ascending
  std::vector<double> expert_set_changed;  // [layers] fraction of positions whose set differs
  std::vector<double> mean_jaccard;        // [layers]
};

// Runs `ids` through both models (one prompt forward each, every position's logits and routing).
// Throws logitscope::Error when the vocabularies differ or fewer than 2 ids are given.
// `interventions_a` / `_b` apply to each side (a model against itself with an intervention: the
// intervention's effect).
std::vector<TokenComparison> compare_models(const Model& a, const Model& b, std::span<const TokenId> ids, int top_k = 5,
                                            const Interventions& interventions_a = {},
                                            const Interventions& interventions_b = {});
ComparisonSummary summarize(const std::vector<TokenComparison>& tokens);

}  // namespace logitscope
