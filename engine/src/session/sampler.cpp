// SPDX-License-Identifier: GPL-3.0-or-later
#include "session/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "logitscope/errors.h"

namespace logitscope {

namespace {

// Index order: larger logit first, lower id first on ties (deterministic, like a stable sort).
struct ByLogit {
  std::span<const float> logits;
  bool operator()(std::int32_t a, std::int32_t b) const {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  }
};

}  // namespace

ChoiceResult choose_from_logits(std::span<const float> logits, const ChoiceRequest& request) {
  const std::int32_t V = static_cast<std::int32_t>(logits.size());
  if (V == 0) throw Error("no logits to choose from");
  // Raw distribution (temperature 1): log-sum-exp, entropy = lse - sum p * logit.
  double max_logit = -INFINITY;
  for (float l : logits) max_logit = std::max<double>(max_logit, l);
  double total = 0.0;
  for (float l : logits) total += std::exp(double(l) - max_logit);
  const double lse = max_logit + std::log(total);
  double expected_logit = 0.0;
  for (float l : logits) {
    const double p = std::exp(double(l) - lse);
    if (p > 0.0) expected_logit += p * double(l);
  }
  ChoiceResult result;
  result.entropy = static_cast<float>(std::max(0.0, lse - expected_logit));

  const std::int32_t report = std::clamp(request.report_top_k, 0, std::min<std::int32_t>(V, 50));
  std::vector<std::int32_t> order(static_cast<std::size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  const ByLogit by_logit{logits};

  auto describe = [&](std::int32_t id) {
    TopKEntry e;
    e.id = id;
    e.logit = logits[id];
    e.logprob = static_cast<float>(double(logits[id]) - lse);
    e.prob = static_cast<float>(std::exp(double(logits[id]) - lse));
    return e;
  };

  const SamplingParams& s = request.sampling;
  const bool greedy = s.greedy || s.temperature <= 0.0f;
  std::int32_t chosen = -1;
  if (request.forced) {
    if (*request.forced < 0 || *request.forced >= V)
      throw Error("forced token id " + std::to_string(*request.forced) + " is outside the vocabulary (0.." +
                  std::to_string(V - 1) + ")");
    chosen = *request.forced;
  }

  // Candidates for sampling: sorted by logit; top-k narrows first so the sort stays short.
  std::int32_t keep = V;
  if (!greedy && s.top_k > 0) keep = std::min(keep, s.top_k);
  const std::int32_t sorted_prefix = std::max(report, greedy ? 1 : keep);
  std::partial_sort(order.begin(), order.begin() + sorted_prefix, order.end(), by_logit);

  if (chosen < 0 && greedy) chosen = order[0];
  if (chosen < 0) {
    // Sampling distribution over the kept candidates (HF order: temperature, top-k, top-p, min-p).
    const double inv_t = 1.0 / s.temperature;
    std::vector<double> prob(static_cast<std::size_t>(keep));
    const double top = double(logits[order[0]]) * inv_t;
    double sum = 0.0;
    for (std::int32_t i = 0; i < keep; ++i) sum += (prob[i] = std::exp(double(logits[order[i]]) * inv_t - top));
    for (double& p : prob) p /= sum;
    if (s.top_p < 1.0f) {
      double cumulative = 0.0;
      std::int32_t n = 0;
      while (n < keep) {
        cumulative += prob[n++];
        if (cumulative >= s.top_p) break;
      }
      keep = std::max<std::int32_t>(1, n);
    }
    if (s.min_p > 0.0f) {
      const double threshold = s.min_p * prob[0];
      std::int32_t n = 1;
      while (n < keep && prob[n] >= threshold) ++n;
      keep = n;
    }
    double kept_total = 0.0;
    for (std::int32_t i = 0; i < keep; ++i) kept_total += prob[i];
    const double target = request.uniform * kept_total;
    double cumulative = 0.0;
    chosen = order[keep - 1];
    for (std::int32_t i = 0; i < keep; ++i) {
      cumulative += prob[i];
      if (cumulative > target) {
        chosen = order[i];
        break;
      }
    }
  }
  const TopKEntry c = describe(chosen);
  result.id = chosen;
  result.prob = c.prob;
  result.logprob = c.logprob;
  for (std::int32_t i = 0; i < report; ++i) result.top_k.push_back(describe(order[i]));
  return result;
}

}  // namespace logitscope
