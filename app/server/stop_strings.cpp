// SPDX-License-Identifier: GPL-3.0-or-later
#include "stop_strings.h"

#include <algorithm>

namespace logitscope::server {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const auto& s : stops_) longest_ = std::max(longest_, s.size());
}

bool StopStringMatcher::append(std::string_view more) {
  if (matched_ || more.empty()) return matched_;
  const std::size_t old_size = text_.size();
  text_.append(more);
  if (stops_.empty()) return false;
  // A new occurrence must end inside the appended text, so it starts at most longest-1 bytes before it.
  const std::size_t from = old_size >= longest_ ? old_size - longest_ + 1 : 0;
  std::size_t first = std::string::npos;
  for (const auto& stop : stops_) first = std::min(first, text_.find(stop, from));
  if (first != std::string::npos) {
    text_.resize(first);
    matched_ = true;
  }
  return matched_;
}

std::size_t StopStringMatcher::releasable() const {
  if (matched_ || finished_ || stops_.empty()) return text_.size();
  // The longest tail that is a proper prefix of some stop string.
  const std::size_t max_tail = std::min(text_.size(), longest_ - 1);
  for (std::size_t tail = max_tail; tail > 0; --tail) {
    const std::string_view end = std::string_view(text_).substr(text_.size() - tail);
    for (const auto& stop : stops_)
      if (stop.size() > tail && std::string_view(stop).substr(0, tail) == end) return text_.size() - tail;
  }
  return text_.size();
}

}  // namespace logitscope::server
