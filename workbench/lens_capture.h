// SPDX-License-Identifier: GPL-3.0-or-later
// The logit lens at one position of the conversation as the Lens dock reads it: what every layer's
// residual stream would predict (logitscope::logit_lens), with the labels of the predicted tokens.
// Plain data the engine worker fills and the view draws; it outlives the view and the request.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "logitscope/lens.h"

namespace logitscope::workbench {

struct LensCapture {
  std::int64_t pos = -1;             // the position read: its distribution is for token pos + 1
  TokenId input = -1;                // ids[pos], the token fed there
  TokenId chosen = -1;               // ids[pos + 1] when the conversation has it (the token this forward chose), else -1
  std::string pattern;               // [layers] the kind letter of each layer (M, E, *, -)
  std::vector<LayerLens> layers;     // [layers] stack order; the last is the model's own output
  std::unordered_map<TokenId, std::string> labels;  // raw bytes of the input, the chosen and every top-k id
  double ms = 0.0;                   // time the engine took

  bool empty() const { return layers.empty(); }
  char kind_letter(int layer) const;
  // Raw bytes of `id` when known, else empty (the view shows <id>).
  std::string bytes_of(TokenId id) const;
  // The model's final best token (the last layer's top-1), -1 when empty.
  TokenId final_top1() const;
  // The first layer from which on the final top-1 stays this layer's top-1 (-1: never settles before the output).
  int settled_from() const;
};

}  // namespace logitscope::workbench
