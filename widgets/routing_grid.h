// SPDX-License-Identifier: GPL-3.0-or-later
// The layer x expert matrix behind the routing heatmap, computed from TokenEvents alone (no Qt
// widgets) so tests can compare it with the events directly.
#pragma once

#include <vector>

#include "event_store.h"
#include "logitscope/events.h"

namespace logitscope::widgets {

struct RoutingGrid {
  std::vector<int> layers;     // row r is this layer of the full stack, ascending
  int num_experts = 0;
  bool counts = false;         // true: how often each expert was chosen; false: combine weights
  std::vector<double> values;  // [layers.size(), num_experts], row-major

  int rows() const { return int(layers.size()); }
  double at(int row, int expert) const { return values[std::size_t(row) * num_experts + expert]; }
  int row_of_layer(int layer) const;  // -1 when the layer routes nothing
  // Per-expert usage: the column sums (choices, or weights in token mode).
  std::vector<double> expert_totals() const;
  double max_value() const;
};

// Sums events [begin, end). With `counts` each choice adds 1, else its combine weight. Rows are the
// shape's MoE layers plus any layer seen in the events; columns grow to the largest expert id seen,
// so any expert count works even when the shape is unknown.
RoutingGrid compute_routing_grid(const std::vector<TokenEvent>& events, int begin, int end,
                                 const workbench::RoutingShape& shape, bool counts);

}  // namespace logitscope::widgets
