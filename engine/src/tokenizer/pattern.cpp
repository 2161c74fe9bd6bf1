// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer/pattern.h"

namespace logitscope::tok {

Pattern::Pattern(const Json& j, const JsonCtx& ctx, const std::string& where) {
  if (j.is_object() && j.contains("String")) {
    literal_ = ctx.str(j, "String", where + " pattern");
  } else if (j.is_object() && j.contains("Regex")) {
    regex_ = std::make_unique<Regex>(ctx.str(j, "Regex", where + " pattern"), ctx.file + ": " + where);
  } else {
    ctx.fail(where + " pattern must be {\"String\": ...} or {\"Regex\": ...}");
  }
}

void Pattern::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  if (regex_) {
    regex_->find_all(text, out);
    return;
  }
  out.clear();
  // An empty literal matches nothing (the Rust crate treats the whole text as one non-match).
  if (literal_.empty()) return;
  std::size_t pos = 0;
  while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
    out.emplace_back(pos, pos + literal_.size());
    pos += literal_.size();
  }
}

std::string Pattern::replace_all(std::string_view text, const std::string& content) const {
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t prev = 0;
  for (auto [s, e] : matches) {
    out.append(text.substr(prev, s - prev));
    out += content;
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

}  // namespace logitscope::tok
