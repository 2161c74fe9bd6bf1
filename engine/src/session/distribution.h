// SPDX-License-Identifier: GPL-3.0-or-later
// A next-token distribution from a row of logits, as the scoring tools read it: log-probabilities
// in double (KL of two close distributions is a small difference of large terms) and the best
// entries. Used by compare, evaluate and the logit lens.
#pragma once

#include <cstdint>
#include <vector>

#include "logitscope/evaluate.h"
#include "logitscope/events.h"

namespace logitscope {

// log-softmax of logits[0..n), in double.
std::vector<double> log_softmax(const float* logits, std::int64_t n);

// The k most likely entries, best first (ties: lower id first), with probability, log-probability
// and the raw logit.
std::vector<TopKEntry> top_entries(const std::vector<double>& logp, const float* logits, int k);

// Token `id` at position `pos` scored by the row of logits [vocab] that predicted it: its
// log-probability and rank, the distribution's entropy and its k best entries (evaluate, trace).
TokenScore score_token(const float* logits, std::int64_t vocab, std::int64_t pos, TokenId id, int k);

}  // namespace logitscope
