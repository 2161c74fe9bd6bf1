// SPDX-License-Identifier: GPL-3.0-or-later
// The intervention options that logits, generate, lens, evaluate, inspect and compare share:
// --mask-expert L:E (repeatable, *:E for every MoE layer), --force-experts L:E1,E2,...,
// --scale L:routed|shared:X, --skip-layer L, --intervene-from P.
#pragma once

#include <set>
#include <string>

#include "args.h"
#include "logitscope/interventions.h"

namespace logitscope::cli {

extern const std::set<std::string> kInterventionOptions;  // all take a value
extern const char* const kInterventionOptionsUsage;

// Parses the options (the engine checks them against the model when it applies them); the
// options of `prefix` + name when given (compare's --b-mask-expert and so on).
Interventions interventions_from(const Args& args, const std::string& prefix = "");
std::set<std::string> intervention_option_names(const std::string& prefix);

}  // namespace logitscope::cli
