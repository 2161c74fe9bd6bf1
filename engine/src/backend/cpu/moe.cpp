// SPDX-License-Identifier: GPL-3.0-or-later
// Mixture of experts (DeepSeek-V3-style router, NemotronH relu^2 experts) and the dense relu^2 MLP.
//   s      = sigmoid(router u)                     fp32
//   choice = s + correction_bias                   (selection only)
//   groups: score = sum of each group's top 2 choices; keep topk_group groups, others -inf
//   idx    = top-k(choice);  w = s[idx] / (sum s[idx] + 1e-20) if norm_topk_prob;  w *= routed_scaling_factor
//   out    = fc2( sum_i w_i * expert_idx_i( fc1 u ) ) + shared(u)     (fc1/fc2 only with moe_latent_size)
// Interventions (rows >= first_intervened): masked experts' choice = -inf; a forced set replaces the
// top-k; the routed scale multiplies every w_i, the shared scale shared(u).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "backend/cpu/cpu_layers.h"
#include "backend/cpu/linear.h"

namespace logitscope::cpu {

void feed_forward(ThreadPool& pool, const FeedForwardWeights& w, std::int64_t in, const float* x, std::int64_t T,
                  float* out) {
  const std::int64_t width = w.up.shape[0];
  std::vector<float> hidden(static_cast<std::size_t>(T * width));  // [T, width]
  linear(pool, w.up, w.up_bias, x, T, hidden.data());
  for (float& h : hidden) h = relu_squared(h);
  linear(pool, w.down, w.down_bias, hidden.data(), T, out);
  (void)in;
}

namespace {

struct Choice {
  std::vector<int> experts;    // [k], by descending selection score (ties: lower id)
  std::vector<float> weights;  // [k]
  float margin = std::numeric_limits<float>::infinity();  // see RoutingSlice::margin
};

// The weights of a chosen set: sigmoid scores, renormalised over the set when the model does, scaled.
void combine_weights(const ModelConfig& c, const std::vector<float>& scores, Choice& out) {
  float total = 0.0f;
  for (int e : out.experts) {
    out.weights.push_back(scores[e]);
    total += scores[e];
  }
  for (float& w : out.weights) {
    if (c.norm_topk_prob) w /= (total + 1e-20f);
    w *= static_cast<float>(c.routed_scaling_factor);
  }
}

// A forced set, in descending selection score (ties: lower id) like a routed one; no margin: nothing
// the router computes can change it.
Choice forced_choice(const ModelConfig& c, const std::vector<float>& scores, const std::vector<float>& choice,
                     const ForcedExperts& forced) {
  Choice out;
  out.experts = forced.experts;
  std::stable_sort(out.experts.begin(), out.experts.end(), [&](int a, int b) {
    return choice[a] > choice[b] || (choice[a] == choice[b] && a < b);
  });
  combine_weights(c, scores, out);
  return out;
}

Choice route(const ModelConfig& c, const PreparedLayer& p, const float* router_logits, const Interventions* iv,
             int layer_index) {
  const int E = c.n_routed_experts, k = c.num_experts_per_tok;
  std::vector<float> scores(E), choice(E);
  float group_margin = std::numeric_limits<float>::infinity();
  for (int e = 0; e < E; ++e) {
    scores[e] = 1.0f / (1.0f + std::exp(-router_logits[e]));
    choice[e] = scores[e] + p.correction_bias[e];
  }
  if (iv) {
    if (const ForcedExperts* forced = iv->forced_in(layer_index)) return forced_choice(c, scores, choice, *forced);
    // A masked expert can be neither chosen nor lift its group.
    for (int e = 0; e < E; ++e)
      if (iv->masks(layer_index, e)) choice[e] = -std::numeric_limits<float>::infinity();
  }
  if (c.n_group > 1) {
    const int per_group = E / c.n_group;
    std::vector<float> group_score(c.n_group);
    for (int g = 0; g < c.n_group; ++g) {
      std::vector<float> members(choice.begin() + g * per_group, choice.begin() + (g + 1) * per_group);
      std::partial_sort(members.begin(), members.begin() + 2, members.end(), std::greater<float>());
      group_score[g] = members[0] + members[1];
    }
    std::vector<int> order(c.n_group);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return group_score[a] > group_score[b]; });
    std::vector<bool> keep(c.n_group, false);
    for (int i = 0; i < c.topk_group; ++i) keep[order[i]] = true;
    if (c.topk_group < c.n_group) group_margin = group_score[order[c.topk_group - 1]] - group_score[order[c.topk_group]];
    for (int e = 0; e < E; ++e)
      if (!keep[e / per_group]) choice[e] = -std::numeric_limits<float>::infinity();
  }
  std::vector<int> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return choice[a] > choice[b]; });
  Choice out;
  // -inf beyond the kept groups: then only the group decision can flip.
  if (k < E && std::isfinite(choice[order[k]])) out.margin = choice[order[k - 1]] - choice[order[k]];
  out.margin = std::min(out.margin, group_margin);
  out.experts.assign(order.begin(), order.begin() + k);
  combine_weights(c, scores, out);
  return out;
}

}  // namespace

void moe_forward(ThreadPool& pool, const ModelConfig& c, const MoeWeights& w, const PreparedLayer& p, int layer_index,
                 const float* u, std::int64_t T, float* out, RoutingSlice* routing, RouterCapture* capture,
                 const Interventions* interventions, std::int64_t first_intervened) {
  const std::int64_t H = c.hidden_size, E = c.n_routed_experts;
  const std::int64_t expert_in = c.moe_latent_size > 0 ? c.moe_latent_size : H;

  std::vector<float> router_logits(static_cast<std::size_t>(T * E));  // [T, E], fp32 router
  linear(pool, w.router, TensorView{}, u, T, router_logits.data());
  std::vector<Choice> choices;
  const double routed_scale = interventions ? interventions->scale(layer_index, MoePart::Routed) : 1.0;
  const double shared_scale = interventions ? interventions->scale(layer_index, MoePart::Shared) : 1.0;
  for (std::int64_t t = 0; t < T; ++t) {
    const bool intervened = interventions && t >= first_intervened;
    choices.push_back(route(c, p, router_logits.data() + t * E, intervened ? interventions : nullptr, layer_index));
    if (intervened && routed_scale != 1.0)
      for (float& weight : choices.back().weights) weight *= static_cast<float>(routed_scale);
  }
  if (capture) {
    capture->scores.resize(static_cast<std::size_t>(T * E));
    capture->selection.resize(static_cast<std::size_t>(T * E));
    for (std::int64_t i = 0; i < T * E; ++i) {
      capture->scores[std::size_t(i)] = 1.0f / (1.0f + std::exp(-router_logits[std::size_t(i)]));
      capture->selection[std::size_t(i)] = capture->scores[std::size_t(i)] + p.correction_bias[std::size_t(i % E)];
    }
  }

  std::vector<float> expert_input;  // [T, expert_in]
  const float* x = u;
  if (c.moe_latent_size > 0) {
    expert_input.resize(static_cast<std::size_t>(T * expert_in));
    linear(pool, w.latent_in, w.latent_in_bias, u, T, expert_input.data());
    x = expert_input.data();
  }

  // Group tokens by expert so each expert's weights are read once per forward.
  std::vector<float> routed(static_cast<std::size_t>(T * expert_in), 0.0f);  // [T, expert_in], fp32 sum
  for (std::int64_t e = 0; e < E; ++e) {
    std::vector<std::int64_t> tokens;
    std::vector<float> weights;
    for (std::int64_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < choices[t].experts.size(); ++i)
        if (choices[t].experts[i] == e) tokens.push_back(t), weights.push_back(choices[t].weights[i]);
    if (tokens.empty()) continue;
    const std::int64_t n = static_cast<std::int64_t>(tokens.size());
    std::vector<float> gathered(static_cast<std::size_t>(n * expert_in)), result(static_cast<std::size_t>(n * expert_in));
    for (std::int64_t i = 0; i < n; ++i) std::copy_n(x + tokens[i] * expert_in, expert_in, gathered.data() + i * expert_in);
    feed_forward(pool, w.experts[e], expert_in, gathered.data(), n, result.data());
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < expert_in; ++j) routed[tokens[i] * expert_in + j] += weights[i] * result[i * expert_in + j];
  }

  if (c.moe_latent_size > 0) {
    linear(pool, w.latent_out, w.latent_out_bias, routed.data(), T, out);
  } else {
    std::copy(routed.begin(), routed.end(), out);
  }
  if (w.shared.up.present()) {
    std::vector<float> shared(static_cast<std::size_t>(T * H));
    feed_forward(pool, w.shared, H, u, T, shared.data());
    if (shared_scale != 1.0)
      for (std::int64_t i = first_intervened * H; i < T * H; ++i)
        shared[std::size_t(i)] *= static_cast<float>(shared_scale);
    for (std::int64_t i = 0; i < T * H; ++i) out[i] += shared[i];
  }
  if (routing) {
    for (std::int64_t t = 0; t < T; ++t) {
      routing[t].layer = layer_index;
      routing[t].experts = choices[t].experts;
      routing[t].weights = choices[t].weights;
      routing[t].margin = choices[t].margin;
    }
  }
}

}  // namespace logitscope::cpu
