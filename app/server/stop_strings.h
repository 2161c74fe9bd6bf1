// SPDX-License-Identifier: GPL-3.0-or-later
// Stop strings over streamed text: the generated text grows piece by piece; when a stop string
// appears, the text is cut before it. While the end of the text could still become a stop string,
// that tail is held back, so a streaming client never sees part of a stop string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace logitscope::server {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);

  // Appends generated text. Returns true once a stop string has appeared (the text then ends
  // just before its first occurrence, and later appends are ignored).
  bool append(std::string_view more);
  // The generation ended: nothing is held back any more.
  void finish() { finished_ = true; }

  bool matched() const { return matched_; }
  const std::string& text() const { return text_; }
  // How much of text() may be shown now.
  std::size_t releasable() const;

 private:
  std::vector<std::string> stops_;
  std::size_t longest_ = 0;
  std::string text_;
  bool matched_ = false;
  bool finished_ = false;
};

}  // namespace logitscope::server
