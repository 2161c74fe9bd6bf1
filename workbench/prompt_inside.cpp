// SPDX-License-Identifier: GPL-3.0-or-later
#include "prompt_inside.h"

#include <algorithm>

namespace logitscope::workbench {

int PromptInside::moe_index(int layer) const {
  for (int m = 0; m < moe_layers(); ++m)
    if (layer_of(m) == layer) return m;
  return -1;
}

const float* PromptInside::scores(std::int64_t pos, int moe) const {
  return internals.routers[std::size_t(moe)].scores.data() + std::size_t(pos) * std::size_t(experts());
}

const float* PromptInside::selection(std::int64_t pos, int moe) const {
  return internals.routers[std::size_t(moe)].selection.data() + std::size_t(pos) * std::size_t(experts());
}

std::vector<int> PromptInside::expert_load(int moe) const {
  std::vector<int> load(std::size_t(std::max(experts(), 0)), 0);  // [experts]
  for (std::int64_t pos = 0; pos < positions(); ++pos)
    for (int expert : choice(pos, moe).experts)
      if (expert >= 0 && expert < experts()) ++load[std::size_t(expert)];
  return load;
}

std::vector<int> PromptInside::never_chosen(int moe) const {
  const std::vector<int> load = expert_load(moe);
  std::vector<int> out;
  for (int e = 0; e < int(load.size()); ++e)
    if (load[std::size_t(e)] == 0) out.push_back(e);
  return out;
}

std::int64_t reply_position(std::int64_t prompt_length, std::int64_t positions, int index) {
  const std::int64_t last = positions - 1;
  if (index < 0) return last;
  const std::int64_t pos = prompt_length + index - 1;
  return pos >= 0 && pos <= last ? pos : last;
}

std::int64_t PromptInside::position_for_reply_index(int index) const {
  return reply_position(prompt_length, positions(), index);
}

std::string PromptInside::bytes_at(std::int64_t pos) const {
  return pos >= 0 && pos < std::int64_t(bytes.size()) ? bytes[std::size_t(pos)] : std::string();
}

namespace {

// [pos + 1] the mean over heads [first, last] of `attention` at query row `pos`; empty when the
// capture did not keep that row.
std::vector<double> mean_attention_row(const AttentionInternals& attention, std::int64_t n, int first, int last, std::int64_t pos) {
  if (!attention.row(first, pos, n)) return {};
  std::vector<double> row(std::size_t(pos + 1), 0.0);  // [pos + 1]
  for (int h = first; h <= last; ++h) {
    const float* weights = attention.row(h, pos, n);  // [n]
    for (std::int64_t k = 0; k <= pos; ++k) row[std::size_t(k)] += double(weights[k]);
  }
  const int count = last - first + 1;
  if (count > 1)
    for (double& w : row) w /= double(count);
  return row;
}

// One value of a [positions, heads] Mamba capture, or its mean over heads (head -1).
double head_value(const std::vector<float>& values, int heads, int head, std::int64_t pos) {
  const float* at = values.data() + std::size_t(pos) * std::size_t(heads);  // [heads]
  if (head >= 0) return double(at[head]);
  double sum = 0.0;
  for (int h = 0; h < heads; ++h) sum += double(at[h]);
  return heads > 0 ? sum / double(heads) : 0.0;
}

}  // namespace

std::vector<double> PromptInside::attention_row(int attention, int head, std::int64_t pos) const {
  const AttentionInternals& layer = internals.attentions[std::size_t(attention)];
  if (head < 0) return mean_attention_row(layer, positions(), 0, internals.attention_heads - 1, pos);
  return mean_attention_row(layer, positions(), head, head, pos);
}

bool PromptInside::has_attention_row(std::int64_t pos) const {
  return !internals.attentions.empty() && internals.attentions.front().row(0, pos, positions()) != nullptr;
}

int PromptInside::attention_kv_groups() const {
  const int heads = internals.attention_heads, kv = internals.attention_kv_heads;
  return kv > 0 && kv <= heads && heads % kv == 0 ? kv : 1;
}

std::pair<int, int> PromptInside::heads_of_group(int group) const {
  const int per_group = internals.attention_heads / attention_kv_groups();
  return {group * per_group, group * per_group + per_group - 1};
}

std::vector<double> PromptInside::attention_group_row(int attention, int group, std::int64_t pos) const {
  const auto [first, last] = heads_of_group(group);
  return mean_attention_row(internals.attentions[std::size_t(attention)], positions(), first, last, pos);
}

double PromptInside::mamba_dt(int mamba, int head, std::int64_t pos) const {
  return head_value(internals.mambas[std::size_t(mamba)].dt, internals.mamba_heads, head, pos);  // [positions, heads]
}

double PromptInside::mamba_state_norm(int mamba, int head, std::int64_t pos) const {
  return head_value(internals.mambas[std::size_t(mamba)].state_norm, internals.mamba_heads, head, pos);  // [positions, heads]
}

}  // namespace logitscope::workbench
