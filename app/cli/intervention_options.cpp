// SPDX-License-Identifier: GPL-3.0-or-later
#include "intervention_options.h"

namespace logitscope::cli {

std::set<std::string> intervention_option_names(const std::string& prefix) {
  std::set<std::string> names;
  for (const char* name : {"mask-expert", "force-experts", "scale", "skip-layer", "intervene-from"})
    names.insert(prefix + name);
  return names;
}

const std::set<std::string> kInterventionOptions = intervention_option_names("");

const char* const kInterventionOptionsUsage =
    "Interventions (each repeatable; applied to every token from --intervene-from on; CPU backend):\n"
    "  --mask-expert L:E         expert E of MoE layer L is never chosen (*:E: in every MoE layer)\n"
    "  --force-experts L:E1,E2   layer L uses exactly these experts (weights as the router gives them)\n"
    "  --scale L:routed:X        multiply layer L's routed experts' sum (or L:shared:X, its shared expert) by X\n"
    "  --skip-layer L            layer L passes its input through (any kind: Mamba, attention, MoE, MLP)\n"
    "  --intervene-from P        first position they apply to (default 0)\n";

Interventions interventions_from(const Args& args, const std::string& prefix) {
  Interventions iv;
  for (const std::string& text : args.get_all(prefix + "mask-expert")) iv.masked.push_back(parse_expert_mask(text));
  for (const std::string& text : args.get_all(prefix + "force-experts")) iv.forced.push_back(parse_forced_experts(text));
  for (const std::string& text : args.get_all(prefix + "scale")) iv.scaled.push_back(parse_part_scale(text));
  for (const std::string& text : args.get_all(prefix + "skip-layer")) iv.skipped.push_back(parse_skipped_layer(text));
  iv.from_position = args.get_int(prefix + "intervene-from", 0);
  return iv;
}

}  // namespace logitscope::cli
