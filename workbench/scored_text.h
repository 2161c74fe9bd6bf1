// SPDX-License-Identifier: GPL-3.0-or-later
// The surprise of a text as the views read it: every token's log-probability given the tokens before
// it (logitscope::evaluate_text), the model's top alternatives there, and the totals. Plain data the
// engine worker fills and the Surprise view draws; kept here so that it outlives the view.
#pragma once

#include <QString>

#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "logitscope/events.h"

namespace logitscope::workbench {

struct ScoredToken {
  TokenId id = 0;
  float logprob = 0.0f;              // log P(token | the tokens before it), nats
  float entropy = 0.0f;              // of that distribution, nats
  std::int64_t rank = 0;             // 0: the model's best guess
  std::vector<TopKEntry> top_k;      // best first
};

struct ScoredText {
  QString source;                    // "pasted text", a file name, "conversation"
  std::vector<TokenId> ids;          // every token; ids[0] is context only
  std::vector<std::string> bytes;    // raw bytes of each id (empty: the model has no tokenizer)
  std::vector<ScoredToken> scored;   // scored[i] is ids[i + 1]
  std::unordered_map<TokenId, std::string> labels;  // raw bytes of the top-k ids
  double total_nll = 0.0;            // nats
  double ms = 0.0;                   // time the engine took

  std::int64_t tokens() const { return std::int64_t(scored.size()); }
  double mean_nll() const { return scored.empty() ? 0.0 : total_nll / double(scored.size()); }
  double perplexity() const { return std::exp(mean_nll()); }
  // Raw bytes of `id` as far as known (token text or a top-k label), else empty.
  std::string bytes_of(TokenId id) const;
};

}  // namespace logitscope::workbench
