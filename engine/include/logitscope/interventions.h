// SPDX-License-Identifier: GPL-3.0-or-later
// Interventions: "what if" edits to the forward pass, applied to every token at or after a chosen
// position. Layers are numbered in the full stack (as RoutingSlice::layer), experts 0..E-1.
//   mask    expert E in layer L (or every MoE layer): its selection score becomes -inf, so the
//           router picks the next best; combine weights are computed as the router would.
//   force   layer L uses exactly this expert set; weights = the router's sigmoid scores of the set,
//           renormalised over the set when the model does (norm_topk_prob), times
//           routed_scaling_factor. Groups (n_group) are bypassed.
//   scale   layer L's routed part (the weighted sum of the chosen experts, before the latent
//           up-projection where the model has one) or its shared expert's output, times X.
//   skip    layer L becomes the identity for those tokens: its mixer does not run (a Mamba state
//           does not advance, an attention cache is not written) and the residual passes through.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "logitscope/config.h"

namespace logitscope {

inline constexpr int kEveryMoeLayer = -1;

struct ExpertMask {
  int layer = kEveryMoeLayer;  // a MoE layer, or kEveryMoeLayer
  int expert = 0;
  bool operator==(const ExpertMask&) const = default;
};

struct ForcedExperts {
  int layer = 0;
  std::vector<int> experts;  // distinct, 1..n_routed_experts of them
  bool operator==(const ForcedExperts&) const = default;
};

enum class MoePart { Routed, Shared };
const char* to_string(MoePart part);

struct PartScale {
  int layer = 0;
  MoePart part = MoePart::Routed;
  double factor = 1.0;
  bool operator==(const PartScale&) const = default;
};

struct Interventions {
  std::int64_t from_position = 0;  // applied to tokens at positions >= this
  std::vector<ExpertMask> masked;
  std::vector<ForcedExperts> forced;
  std::vector<PartScale> scaled;
  std::vector<int> skipped;        // layers, any kind

  bool empty() const { return masked.empty() && forced.empty() && scaled.empty() && skipped.empty(); }
  bool operator==(const Interventions&) const = default;

  // Lookups for the backends (linear scans: a handful of entries).
  bool skips(int layer) const;
  bool masks(int layer, int expert) const;
  const ForcedExperts* forced_in(int layer) const;
  double scale(int layer, MoePart part) const;  // product of the matching entries, 1 when none
};

// Throws logitscope::Error naming the option and what was expected when an entry does not fit the
// model: a layer out of range or of the wrong kind, an expert out of range, a forced set with
// duplicates, a layer left with fewer unmasked experts than it routes to, a non-finite factor.
void validate(const Interventions& interventions, const ModelConfig& config);

// The command-line forms (also what describe() prints):
//   mask  "L:E" or "*:E"     force "L:E1,E2,..."     scale "L:routed:X" or "L:shared:X"     skip "L"
// Each throws logitscope::Error quoting the text and the expected form.
ExpertMask parse_expert_mask(const std::string& text);
ForcedExperts parse_forced_experts(const std::string& text);
PartScale parse_part_scale(const std::string& text);
int parse_skipped_layer(const std::string& text);
// The same forms back: "4:17" / "*:3", "6:1,2", "9:shared:0.5".
std::string to_text(const ExpertMask& mask);
std::string to_text(const ForcedExperts& forced);
std::string to_text(const PartScale& scale);

// One line, e.g. "from 12: mask 4:17, force 6:1,2, scale 9:shared:0.5, skip 3"; "" when empty.
std::string describe(const Interventions& interventions);
// Reads that line back, or what a person types: "mask 4:17; skip 3" (items apart by ';', ',' or
// spaces; "from N:" optional, default 0). Throws logitscope::Error naming the item it cannot read.
Interventions parse_interventions(const std::string& text);

}  // namespace logitscope
