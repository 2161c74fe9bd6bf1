// SPDX-License-Identifier: GPL-3.0-or-later
// The options every model-loading subcommand shares: --model, --revision, --cache-dir, --backend,
// --threads, --max-context.
#pragma once

#include <memory>
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

// The ids a scoring command reads: --ids as given, or --text-file tokenized by the model (rendered
// through its chat template first with `use_template`: a JSON conversation or plain text as one user
// message, as a chat shows it, no generation prompt). Throws naming what is missing.
std::vector<TokenId> scoring_ids(const Model& model, IdsOrText input, bool use_template);

// The model of the model options and the ids of --ids / --text-file (--template) for it, loaded
// again with a context that holds them all when they are longer than the one asked for.
struct ScoringInput {
  std::unique_ptr<Model> model;
  std::vector<TokenId> ids;
};
ScoringInput load_for_scoring(const Args& args);
SamplingParams sampling_from(const Args& args);

// Merges option sets.
std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets);

}  // namespace logitscope::cli
