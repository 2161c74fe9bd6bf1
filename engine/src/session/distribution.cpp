// SPDX-License-Identifier: GPL-3.0-or-later
#include "session/distribution.h"

#include <algorithm>
#include <cmath>

namespace logitscope {

std::vector<double> log_softmax(const float* logits, std::int64_t n) {
  double top = -INFINITY;
  for (std::int64_t i = 0; i < n; ++i) top = std::max(top, double(logits[i]));
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - top);
  const double log_z = top + std::log(sum);
  std::vector<double> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[std::size_t(i)] = double(logits[i]) - log_z;
  return out;
}

std::vector<TopKEntry> top_entries(const std::vector<double>& logp, const float* logits, int k) {
  std::vector<TokenId> order(logp.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = TokenId(i);
  k = std::clamp(k, 0, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](TokenId a, TokenId b) {
    return logp[std::size_t(a)] > logp[std::size_t(b)] || (logp[std::size_t(a)] == logp[std::size_t(b)] && a < b);
  });
  std::vector<TopKEntry> out;
  for (int i = 0; i < k; ++i) {
    const TokenId id = order[std::size_t(i)];
    out.push_back({id, float(std::exp(logp[std::size_t(id)])), float(logp[std::size_t(id)]), logits[id]});
  }
  return out;
}

TokenScore score_token(const float* logits, std::int64_t vocab, std::int64_t pos, TokenId id, int k) {
  const std::vector<double> logp = log_softmax(logits, vocab);
  double entropy = 0.0;
  for (double lp : logp) entropy -= std::exp(lp) * lp;
  TokenScore s;
  s.pos = pos;
  s.id = id;
  s.logprob = float(logp[std::size_t(id)]);
  s.entropy = float(entropy);
  for (std::int64_t v = 0; v < vocab; ++v) s.rank += logp[std::size_t(v)] > logp[std::size_t(id)];
  s.top_k = top_entries(logp, logits, k);
  return s;
}

}  // namespace logitscope
