// SPDX-License-Identifier: GPL-3.0-or-later
// What the layers do inside, for every position of a prompt forward: every router's scores (all
// experts), every Mamba layer's time steps and state norms, every attention layer's weights. The
// inspection views and `logitscope-cli inspect` read it (the CPU backend today).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stop_token>
#include <vector>

#include "logitscope/events.h"
#include "logitscope/model.h"

namespace logitscope {

struct RouterInternals {
  int layer = 0;                     // index in the stack
  std::vector<float> scores;         // [positions, experts] sigmoid(router logits)
  std::vector<float> selection;      // [positions, experts] scores + correction bias (what top-k ranks)
};

struct MambaInternals {
  int layer = 0;
  std::vector<float> dt;             // [positions, heads] softplus(dt_raw + dt_bias), before any clamp
  std::vector<float> state_norm;     // [positions, heads] L2 norm of the head's SSM state after the token
};

struct AttentionInternals {
  int layer = 0;
  std::vector<std::int64_t> rows;    // the query positions kept, ascending (empty: every position)
  std::vector<float> weights;        // [heads, rows (or positions), positions] softmax over earlier positions (0 above the diagonal)
  // [positions] the weights of query position `pos` in head `head`; nullptr when that row was not kept.
  // Inline: the workbench's data layer reads captures without linking the engine.
  const float* row(int head, std::int64_t pos, std::int64_t positions) const {
    if (pos < 0 || pos >= positions) return nullptr;
    std::int64_t slot = pos, kept = positions;
    if (!rows.empty()) {
      const auto it = std::lower_bound(rows.begin(), rows.end(), pos);
      if (it == rows.end() || *it != pos) return nullptr;
      slot = it - rows.begin();
      kept = std::int64_t(rows.size());
    }
    return weights.data() + (std::int64_t(head) * kept + slot) * positions;
  }
};

struct PromptInternals {
  std::int64_t positions = 0;
  int experts = 0, mamba_heads = 0, attention_heads = 0;
  // Heads share keys and values in attention_kv_heads groups: head h reads KV group
  // h / (attention_heads / attention_kv_heads), as transformers' repeat_kv lays them out.
  int attention_kv_heads = 0;
  std::vector<RouterInternals> routers;
  std::vector<MambaInternals> mambas;
  std::vector<AttentionInternals> attentions;
  std::vector<std::vector<RoutingSlice>> routing;  // [positions][MoE layers] the choices (with margins)
};

// What a capture keeps of the attention weights: every query row costs heads x positions floats per
// attention layer, so a long text keeps only the rows a view shows.
struct InspectOptions {
  bool attention = true;                      // false: no attention weights at all
  std::vector<std::int64_t> attention_rows;   // query positions to keep (empty: every position)
};

// One prompt forward over `ids` keeping the internals. Throws logitscope::Error when the backend
// cannot (yet) capture them, the ids do not fit the context or an attention row is not a position;
// Cancelled when `stop` is requested (between layers).
PromptInternals inspect_prompt(const Model& model, std::span<const TokenId> ids, const InspectOptions& options = {},
                               std::stop_token stop = {});

// A router at one position, summarised: entropy of the normalised scores (nats), the top-k.
double router_entropy(const RouterInternals& router, int experts, std::int64_t pos);

}  // namespace logitscope
