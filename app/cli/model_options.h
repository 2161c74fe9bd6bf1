// SPDX-License-Identifier: GPL-3.0-or-later
// The options every model-loading subcommand shares: --model, --revision, --cache-dir, --backend,
// --threads, --max-context.
#pragma once

#include <set>
#include <string>

#include "args.h"
#include "logitscope/model.h"
#include "logitscope/sampling.h"

namespace logitscope::cli {

extern const std::set<std::string> kModelOptions;     // options that take a value
extern const char* const kModelOptionsUsage;          // help text for them
extern const std::set<std::string> kSamplingOptions;  // --temperature --top-k --top-p --min-p --seed
extern const std::set<std::string> kSamplingFlags;    // --greedy
extern const char* const kSamplingOptionsUsage;

LoadOptions load_options_from(const Args& args);
SamplingParams sampling_from(const Args& args);

// Merges option sets.
std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets);

}  // namespace logitscope::cli
