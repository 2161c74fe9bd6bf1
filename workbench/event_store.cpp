// SPDX-License-Identifier: GPL-3.0-or-later
#include "event_store.h"

#include <algorithm>

namespace logitscope::workbench {

EventStore::EventStore(QObject* parent) : QObject(parent) {
  timer_.setSingleShot(true);
  timer_.setInterval(33);
  connect(&timer_, &QTimer::timeout, this, &EventStore::changed);
}

void EventStore::set_events(std::vector<TokenEvent> events) {
  timer_.stop();
  events_ = std::move(events);
  ++generation_;
  if (selected_ >= int(events_.size())) selected_ = -1;
  span_begin_ = span_end_ = 0;
  next_.reset();
  emit changed();
  emit selection_changed();
  emit next_candidates_changed();
}

void EventStore::append(const TokenEvent& event) {
  events_.push_back(event);
  if (next_) {
    next_.reset();
    emit next_candidates_changed();
  }
  if (!timer_.isActive()) timer_.start();
}

void EventStore::clear() { set_events({}); }

void EventStore::flush() {
  if (timer_.isActive()) {
    timer_.stop();
    emit changed();
  }
}

void EventStore::add_labels(const std::vector<std::pair<TokenId, std::string>>& labels) {
  for (const auto& [id, bytes] : labels) labels_.insert(id, bytes);
}

void EventStore::set_labels(QHash<TokenId, std::string> labels) { labels_ = std::move(labels); }

std::string EventStore::label_bytes(TokenId id) const { return labels_.value(id); }

void EventStore::set_routing_shape(RoutingShape shape) {
  shape_ = std::move(shape);
  emit changed();
}

RoutingShape EventStore::routing_shape() const {
  if (!shape_.empty()) return shape_;
  // A reopened conversation has no config: take the layers and the largest expert id seen.
  if (inferred_generation_ != generation_ || inferred_upto_ > events_.size()) {
    inferred_ = RoutingShape{};
    inferred_upto_ = 0;
    inferred_generation_ = generation_;
  }
  for (; inferred_upto_ < events_.size(); ++inferred_upto_) {
    for (const auto& slice : events_[inferred_upto_].routing) {
      auto& layers = inferred_.moe_layers;
      const auto it = std::lower_bound(layers.begin(), layers.end(), slice.layer);
      if (it == layers.end() || *it != slice.layer) layers.insert(it, slice.layer);
      for (int expert : slice.experts) inferred_.num_experts = std::max(inferred_.num_experts, expert + 1);
    }
  }
  return inferred_;
}

void EventStore::select(int index) {
  if (index < -1 || index >= int(events_.size())) index = -1;
  if (index == selected_ && span_end_ == span_begin_) return;
  selected_ = index;
  span_begin_ = span_end_ = 0;
  emit selection_changed();
}

void EventStore::select_span(int begin, int end) {
  if (begin > end) std::swap(begin, end);
  begin = std::clamp(begin, 0, int(events_.size()));
  end = std::clamp(end, 0, int(events_.size()));
  span_begin_ = begin;
  span_end_ = end;
  if (end > begin) selected_ = end - 1;
  emit selection_changed();
}

void EventStore::set_next_candidates(std::optional<NextCandidates> next) {
  next_ = std::move(next);
  emit next_candidates_changed();
}

}  // namespace logitscope::workbench
