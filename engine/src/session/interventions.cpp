// SPDX-License-Identifier: GPL-3.0-or-later
// Interventions checked against a model's layers (the text forms: engine/src/common/interventions_text.cpp).
#include <cmath>
#include <set>
#include <string>

#include "logitscope/errors.h"
#include "logitscope/interventions.h"

namespace logitscope {
namespace {

std::string moe_layer_list(const ModelConfig& c) {
  std::string out;
  for (std::size_t l = 0; l < c.layers.size(); ++l)
    if (c.layers[l] == LayerKind::Moe) out += (out.empty() ? "" : ", ") + std::to_string(l);
  return out.empty() ? "none" : out;
}

const char* layer_phrase(LayerKind kind) {
  switch (kind) {
    case LayerKind::Mamba: return "a Mamba layer";
    case LayerKind::Attention: return "an attention layer";
    case LayerKind::Moe: return "a mixture-of-experts layer";
    case LayerKind::Mlp: return "a dense MLP layer";
  }
  return "a layer of unknown kind";
}

void require_moe_layer(const ModelConfig& c, int layer, const std::string& what) {
  const int n = int(c.layers.size());
  if (layer < 0 || layer >= n)
    throw Error(what + ": layer " + std::to_string(layer) + " is outside the model's layers 0.." + std::to_string(n - 1));
  if (c.layers[std::size_t(layer)] != LayerKind::Moe)
    throw Error(what + ": layer " + std::to_string(layer) + " is " + layer_phrase(c.layers[std::size_t(layer)]) +
                ", not a mixture of experts (MoE layers: " + moe_layer_list(c) + ")");
}

void require_expert(const ModelConfig& c, int expert, const std::string& what) {
  if (expert < 0 || expert >= c.n_routed_experts)
    throw Error(what + ": expert " + std::to_string(expert) + " is outside 0.." + std::to_string(c.n_routed_experts - 1));
}

}  // namespace

void validate(const Interventions& iv, const ModelConfig& c) {
  if (iv.from_position < 0)
    throw Error("interventions: the starting position " + std::to_string(iv.from_position) + " is negative");
  const int k = c.num_experts_per_tok;
  for (const ExpertMask& m : iv.masked) {
    const std::string what = "--mask-expert " + to_text(m);
    if (m.layer != kEveryMoeLayer) require_moe_layer(c, m.layer, what);
    else if (c.count(LayerKind::Moe) == 0) throw Error(what + ": the model has no mixture-of-experts layer");
    require_expert(c, m.expert, what);
  }
  std::set<int> forced_layers;
  for (const ForcedExperts& f : iv.forced) {
    const std::string what = "--force-experts " + to_text(f);
    require_moe_layer(c, f.layer, what);
    if (!forced_layers.insert(f.layer).second)
      throw Error(what + ": layer " + std::to_string(f.layer) + " already has a forced expert set");
    if (f.experts.empty()) throw Error(what + ": name at least one expert");
    std::set<int> seen;
    for (int e : f.experts) {
      require_expert(c, e, what);
      if (!seen.insert(e).second) throw Error(what + ": expert " + std::to_string(e) + " is named twice");
      if (iv.masks(f.layer, e))
        throw Error(what + ": expert " + std::to_string(e) + " is also masked in layer " + std::to_string(f.layer));
    }
  }
  // A routed layer must keep at least top-k candidates.
  for (std::size_t l = 0; l < c.layers.size(); ++l) {
    if (c.layers[l] != LayerKind::Moe || iv.forced_in(int(l))) continue;
    int masked = 0;
    for (int e = 0; e < c.n_routed_experts; ++e) masked += iv.masks(int(l), e);
    if (c.n_routed_experts - masked < k)
      throw Error("--mask-expert: layer " + std::to_string(l) + " would keep " + std::to_string(c.n_routed_experts - masked) +
                  " experts but routes each token to " + std::to_string(k));
  }
  for (const PartScale& s : iv.scaled) {
    const std::string what = "--scale " + to_text(s);
    require_moe_layer(c, s.layer, what);
    if (!std::isfinite(s.factor)) throw Error(what + ": the factor must be a finite number");
    if (s.part == MoePart::Shared && c.moe_shared_expert_intermediate_size <= 0)
      throw Error(what + ": the model's MoE layers have no shared expert");
  }
  for (int layer : iv.skipped) {
    const int n = int(c.layers.size());
    if (layer < 0 || layer >= n)
      throw Error("--skip-layer " + std::to_string(layer) + ": layer is outside the model's layers 0.." + std::to_string(n - 1));
  }
}

}  // namespace logitscope
