// SPDX-License-Identifier: GPL-3.0-or-later
// What the layers did inside over the whole conversation (logitscope::inspect_prompt), as the
// Router dock reads it: every MoE router's scores at every position, the choices with their margins,
// the router entropies, and the tokens for the axes. Plain data the engine worker fills; the view
// only reads it. Attention weights grow with positions squared, so the worker keeps them only for a
// view that draws them, and for a long conversation only the selected row.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "logitscope/inspect.h"

namespace logitscope::workbench {

// The position whose forward produced reply token `index` of ids [positions] whose reply starts at
// prompt_length (it read ids[pos] and chose ids[pos + 1]); index < 0 or past the reply: the last position.
std::int64_t reply_position(std::int64_t prompt_length, std::int64_t positions, int index);

struct PromptInside {
  std::vector<TokenId> ids;          // [positions] the prompt, then the reply's tokens
  std::vector<std::string> bytes;    // [positions] raw bytes of each id (empty: no tokenizer)
  std::int64_t prompt_length = 0;    // ids before the reply: reply token i sits at prompt_length + i
  int experts_per_tok = 0;
  PromptInternals internals;         // routers [MoE layers], routing [positions][MoE layers], ...
  std::vector<float> entropy;        // [positions, MoE layers] router entropy (nats)
  double ms = 0.0;                   // time the engine took

  std::int64_t positions() const { return internals.positions; }
  int experts() const { return internals.experts; }
  int moe_layers() const { return int(internals.routers.size()); }
  int layer_of(int moe) const { return internals.routers[std::size_t(moe)].layer; }
  // Index among the MoE layers of stack layer `layer`, or -1.
  int moe_index(int layer) const;

  // [experts] sigmoid scores / selection scores (score + correction bias) of MoE layer `moe` at `pos`.
  const float* scores(std::int64_t pos, int moe) const;
  const float* selection(std::int64_t pos, int moe) const;
  const RoutingSlice& choice(std::int64_t pos, int moe) const { return internals.routing[std::size_t(pos)][std::size_t(moe)]; }
  float margin(std::int64_t pos, int moe) const { return choice(pos, moe).margin; }
  float router_entropy(std::int64_t pos, int moe) const {
    return entropy[std::size_t(pos) * std::size_t(moe_layers()) + std::size_t(moe)];
  }
  // [experts] how many positions chose each expert in MoE layer `moe`.
  std::vector<int> expert_load(int moe) const;
  // Experts of MoE layer `moe` that no position chose, ascending.
  std::vector<int> never_chosen(int moe) const;
  // The position whose forward produced reply token `index` (it read ids[pos] and chose ids[pos + 1]);
  // index < 0 or past the reply: the last position.
  std::int64_t position_for_reply_index(int index) const;
  std::string bytes_at(std::int64_t pos) const;

  // [pos + 1] the attention weights of position `pos` over itself and every earlier position, in
  // attention layer `attention` (index among the captured attention layers); head -1: the mean over
  // heads. Empty when the capture kept other rows only (a long conversation keeps the selected one).
  std::vector<double> attention_row(int attention, int head, std::int64_t pos) const;
  // The same, averaged over the heads of KV group `group` (heads that read the same keys and values).
  std::vector<double> attention_group_row(int attention, int group, std::int64_t pos) const;
  bool has_attention_row(std::int64_t pos) const;  // the capture kept query row `pos`
  int attention_kv_groups() const;   // groups of heads sharing KV (1 when the capture does not say)
  std::pair<int, int> heads_of_group(int group) const;  // [first, last] head of KV group `group`
  // dt of Mamba layer `mamba` (index among the Mamba layers) at `pos`; head -1: the mean over heads.
  double mamba_dt(int mamba, int head, std::int64_t pos) const;
  // L2 norm of that layer's SSM state after the token at `pos`; head -1: the mean over heads.
  double mamba_state_norm(int mamba, int head, std::int64_t pos) const;
};

}  // namespace logitscope::workbench
