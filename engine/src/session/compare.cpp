// SPDX-License-Identifier: GPL-3.0-or-later
#include "logitscope/compare.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "logitscope/errors.h"
#include "logitscope/session.h"
#include "logitscope/tokenizer.h"
#include "session/distribution.h"

namespace logitscope {


namespace {

std::set<int> experts_in(const std::vector<RoutingSlice>& slices, int layer) {
  for (const RoutingSlice& s : slices)
    if (s.layer == layer) return std::set<int>(s.experts.begin(), s.experts.end());
  return {};  // the layer was skipped on this side
}

}  // namespace

std::vector<TokenComparison> compare_models(const Model& a, const Model& b, std::span<const TokenId> ids, int top_k,
                                            const Interventions& interventions_a, const Interventions& interventions_b) {
  const std::int64_t V = a.config().vocab_size;
  if (b.config().vocab_size != V)
    throw Error("the two models have different vocabularies (" + std::to_string(V) + " and " +
                std::to_string(b.config().vocab_size) + " tokens): they cannot be compared token by token");
  if (&a != &b && a.tokenizer() && b.tokenizer())
    if (const std::optional<TokenId> id = first_differing_token(*a.tokenizer(), *b.tokenizer()))
      throw Error("the two models' tokenizers differ from token id " + std::to_string(*id) +
                  " on: they cannot be compared token by token");
  if (ids.size() < 2) throw Error("compare needs at least 2 tokens (the first only conditions the second)");
  if (std::int64_t(ids.size()) > std::min(a.max_context(), b.max_context()))
    throw Error("compare: " + std::to_string(ids.size()) + " tokens exceed the context the models were loaded with (" +
                std::to_string(std::min(a.max_context(), b.max_context())) + "; --max-context)");
  Session sa(a), sb(b);
  sa.set_interventions(interventions_a);
  sb.set_interventions(interventions_b);
  std::vector<std::vector<RoutingSlice>> ra, rb;
  const std::vector<float> la = sa.evaluate(ids, &ra), lb = sb.evaluate(ids, &rb);
  std::vector<TokenComparison> out;
  for (std::size_t p = 1; p < ids.size(); ++p) {
    const float* row_a = la.data() + (p - 1) * std::size_t(V);
    const float* row_b = lb.data() + (p - 1) * std::size_t(V);
    const std::vector<double> pa = log_softmax(row_a, V), pb = log_softmax(row_b, V);
    TokenComparison t;
    t.pos = std::int64_t(p);
    t.id = ids[p];
    for (std::int64_t v = 0; v < V; ++v) {
      const double lpa = pa[std::size_t(v)];
      if (std::isfinite(lpa)) t.kl += std::exp(lpa) * (lpa - pb[std::size_t(v)]);
    }
    t.kl = std::max(t.kl, 0.0);  // rounding can leave a tiny negative for identical rows
    t.logprob_a = pa[std::size_t(t.id)];
    t.logprob_b = pb[std::size_t(t.id)];
    t.top_k_a = top_entries(pa, row_a, std::max(top_k, 1));
    t.top_k_b = top_entries(pb, row_b, std::max(top_k, 1));
    t.top1_agree = t.top_k_a.front().id == t.top_k_b.front().id;
    if (p - 1 < ra.size() && p - 1 < rb.size()) {
      std::set<int> layers;
      for (const RoutingSlice& s : ra[p - 1]) layers.insert(s.layer);
      for (const RoutingSlice& s : rb[p - 1]) layers.insert(s.layer);
      for (int layer : layers) {
        const std::set<int> ea = experts_in(ra[p - 1], layer), eb = experts_in(rb[p - 1], layer);
        std::size_t common = 0;
        for (int e : ea) common += eb.count(e);
        const std::size_t all = ea.size() + eb.size() - common;
        t.expert_overlap.push_back({layer, all ? double(common) / double(all) : 1.0});
      }
    }
    if (!top_k) {
      t.top_k_a.clear();
      t.top_k_b.clear();
    }
    out.push_back(std::move(t));
  }
  return out;
}

ComparisonSummary summarize(const std::vector<TokenComparison>& tokens) {
  ComparisonSummary s;
  s.positions = std::int64_t(tokens.size());
  if (tokens.empty()) return s;
  int agree = 0;
  for (const auto& t : tokens) {
    s.mean_kl += t.kl;
    s.max_kl = std::max(s.max_kl, t.kl);
    agree += t.top1_agree;
    if (!t.top1_agree && s.first_disagreement < 0) s.first_disagreement = t.pos;
    s.nll_a -= t.logprob_a;
    s.nll_b -= t.logprob_b;
  }
  const double n = double(tokens.size());
  s.mean_kl /= n;
  s.nll_a /= n;
  s.nll_b /= n;
  s.top1_agreement = agree / n;
  for (const auto& o : tokens.front().expert_overlap) s.layers.push_back(o.layer);
  s.expert_set_changed.assign(s.layers.size(), 0.0);
  s.mean_jaccard.assign(s.layers.size(), 0.0);
  for (const auto& t : tokens)
    for (std::size_t l = 0; l < std::min(s.layers.size(), t.expert_overlap.size()); ++l) {
      s.expert_set_changed[l] += t.expert_overlap[l].jaccard < 1.0 ? 1.0 : 0.0;
      s.mean_jaccard[l] += t.expert_overlap[l].jaccard;
    }
  for (std::size_t l = 0; l < s.layers.size(); ++l) {
    s.expert_set_changed[l] /= n;
    s.mean_jaccard[l] /= n;
  }
  return s;
}

}  // namespace logitscope
