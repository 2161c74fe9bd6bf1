// SPDX-License-Identifier: GPL-3.0-or-later
// The token events the inspection widgets draw from, kept on the GUI thread. Appends arrive at the
// engine's pace (hundreds per second); `changed()` is coalesced by a short single-shot timer so the
// widgets replot at most ~30 times per second, while selection changes go out at once.
#pragma once

#include <QHash>
#include <QObject>
#include <QTimer>

#include <optional>
#include <string>
#include <vector>

#include "logitscope/events.h"

namespace logitscope::workbench {

// Which layers route to experts and how many experts there are; from the model config, or
// inferred from the events when no model is loaded (a reopened conversation).
struct RoutingShape {
  std::vector<int> moe_layers;  // indices in the full layer stack, ascending
  int num_experts = 0;
  bool empty() const { return moe_layers.empty() || num_experts <= 0; }
};

// The distribution for the token that comes next (not yet chosen), listed before a step.
struct NextCandidates {
  std::int64_t index = -1;  // index in events() the chosen token will get
  float entropy = 0.0f;
  std::vector<TopKEntry> top_k;
};

class EventStore : public QObject {
  Q_OBJECT
 public:
  explicit EventStore(QObject* parent = nullptr);

  // Replaces everything (another message or branch is inspected). Emits changed() at once.
  void set_events(std::vector<TokenEvent> events);
  // Appends one streamed event; changed() follows within `coalesce_ms`.
  void append(const TokenEvent& event);
  void clear();

  const std::vector<TokenEvent>& events() const { return events_; }
  std::size_t size() const { return events_.size(); }
  // Bumped by set_events(): widgets that cache per-event work start over when it changes.
  int generation() const { return generation_; }

  // Raw bytes of token ids seen in top-k lists (ids without an entry show as <id>).
  void add_labels(const std::vector<std::pair<TokenId, std::string>>& labels);
  void set_labels(QHash<TokenId, std::string> labels);
  const QHash<TokenId, std::string>& labels() const { return labels_; }
  std::string label_bytes(TokenId id) const;

  void set_routing_shape(RoutingShape shape);
  // The configured shape, or one inferred from the routing in the events.
  RoutingShape routing_shape() const;

  // Selection: one token (-1 = none) and an optional span [begin, end) of indices.
  void select(int index);
  void select_span(int begin, int end);
  int selected() const { return selected_; }
  int span_begin() const { return span_begin_; }
  int span_end() const { return span_end_; }
  bool has_span() const { return span_end_ > span_begin_; }

  void set_next_candidates(std::optional<NextCandidates> next);
  const std::optional<NextCandidates>& next_candidates() const { return next_; }

  void set_coalesce_ms(int ms) { timer_.setInterval(ms); }
  // Emits a pending changed() now (tests, and before a save).
  void flush();

 signals:
  void changed();            // events were appended or replaced (coalesced)
  void selection_changed();
  void next_candidates_changed();

 private:
  std::vector<TokenEvent> events_;
  int generation_ = 0;
  QHash<TokenId, std::string> labels_;
  RoutingShape shape_;
  // Inferred shape, grown as events arrive (recomputing it per replot would be O(events)).
  mutable RoutingShape inferred_;
  mutable std::size_t inferred_upto_ = 0;
  mutable int inferred_generation_ = -1;
  int selected_ = -1;
  int span_begin_ = 0;
  int span_end_ = 0;
  std::optional<NextCandidates> next_;
  QTimer timer_;
};

}  // namespace logitscope::workbench
