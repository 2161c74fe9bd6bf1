// SPDX-License-Identifier: GPL-3.0-or-later
// The {"String": ...} / {"Regex": ...} patterns of Split, Replace and the Replace decoder.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/json_util.h"
#include "tokenizer/regex.h"

namespace logitscope::tok {

class Pattern {
 public:
  Pattern(const Json& j, const JsonCtx& ctx, const std::string& where);
  // Non-overlapping matches of the pattern in `text`, left to right.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
  // Every match replaced by `content`.
  std::string replace_all(std::string_view text, const std::string& content) const;

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
};

}  // namespace logitscope::tok
