// SPDX-License-Identifier: GPL-3.0-or-later
#include "routing_grid.h"

#include <algorithm>
#include <set>

namespace logitscope::widgets {

int RoutingGrid::row_of_layer(int layer) const {
  const auto it = std::lower_bound(layers.begin(), layers.end(), layer);
  return it != layers.end() && *it == layer ? int(it - layers.begin()) : -1;
}

std::vector<double> RoutingGrid::expert_totals() const {
  std::vector<double> totals(std::size_t(std::max(num_experts, 0)), 0.0);
  for (int r = 0; r < rows(); ++r) {
    for (int e = 0; e < num_experts; ++e) totals[e] += at(r, e);
  }
  return totals;
}

double RoutingGrid::max_value() const {
  return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
}

RoutingGrid compute_routing_grid(const std::vector<TokenEvent>& events, int begin, int end,
                                 const workbench::RoutingShape& shape, bool counts) {
  begin = std::clamp(begin, 0, int(events.size()));
  end = std::clamp(end, begin, int(events.size()));
  std::set<int> layers(shape.moe_layers.begin(), shape.moe_layers.end());
  int num_experts = shape.num_experts;
  for (int i = begin; i < end; ++i) {
    for (const auto& slice : events[i].routing) {
      layers.insert(slice.layer);
      for (int expert : slice.experts) num_experts = std::max(num_experts, expert + 1);
    }
  }
  RoutingGrid grid;
  grid.layers.assign(layers.begin(), layers.end());
  grid.num_experts = num_experts;
  grid.counts = counts;
  grid.values.assign(grid.layers.size() * std::size_t(std::max(num_experts, 0)), 0.0);
  for (int i = begin; i < end; ++i) {
    for (const auto& slice : events[i].routing) {
      const int row = grid.row_of_layer(slice.layer);
      for (std::size_t k = 0; k < slice.experts.size(); ++k) {
        const int expert = slice.experts[k];
        if (expert < 0) continue;
        const double weight = k < slice.weights.size() ? slice.weights[k] : 0.0;
        grid.values[std::size_t(row) * num_experts + expert] += counts ? 1.0 : weight;
      }
    }
  }
  return grid;
}

}  // namespace logitscope::widgets
