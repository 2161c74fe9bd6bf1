// SPDX-License-Identifier: GPL-3.0-or-later
// What the layers do inside, for every position of a prompt forward: every router's scores (all
// experts), every Mamba layer's time steps and state norms, every attention layer's weights. The
// inspection views and `logitscope-cli inspect` read it (the CPU backend today).
#pragma once

#include <cstdint>
#include <span>
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
  std::vector<float> weights;        // [heads, positions, positions] softmax over earlier positions (0 above the diagonal)
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

// One prompt forward over `ids` keeping the internals. Throws logitscope::Error when the backend
// cannot (yet) capture them or the ids do not fit the context.
PromptInternals inspect_prompt(const Model& model, std::span<const TokenId> ids);

// A router at one position, summarised: entropy of the normalised scores (nats), the top-k.
double router_entropy(const RouterInternals& router, int experts, std::int64_t pos);

}  // namespace logitscope
