// SPDX-License-Identifier: GPL-3.0-or-later
// split_reasoning: separates a reasoning model's <think> block from its answer (see chat.h).
#include <algorithm>

#include "logitscope/chat.h"

namespace logitscope {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

// Length of the longest suffix of `text` that is a proper prefix of `tag` (a tag still arriving).
std::size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (std::size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

// Reasoning runs from `body` to the close tag (or to the end, still open).
ReasoningSplit split_open(std::string_view body, std::string_view close_tag) {
  ReasoningSplit out;
  std::size_t close = body.find(close_tag);
  if (close == std::string_view::npos) {
    out.reasoning_open = true;
    body.remove_suffix(partial_tag_suffix(body, close_tag));
    out.reasoning = std::string(trim(body));
    return out;
  }
  out.reasoning = std::string(trim(body.substr(0, close)));
  out.answer = std::string(ltrim(body.substr(close + close_tag.size())));
  return out;
}

}  // namespace

ReasoningSplit split_reasoning(std::string_view generated, bool starts_in_thinking, std::string_view open_tag,
                               std::string_view close_tag) {
  if (open_tag.empty() || close_tag.empty()) return ReasoningSplit{"", std::string(generated), false};
  if (starts_in_thinking) {
    // Some models repeat the opening tag although the prompt already opened the block.
    std::string_view body = ltrim(generated);
    if (body.substr(0, open_tag.size()) == open_tag) body.remove_prefix(open_tag.size());
    else body = generated;
    return split_open(body, close_tag);
  }
  std::string_view lead = ltrim(generated);
  if (lead.substr(0, open_tag.size()) == open_tag) return split_open(lead.substr(open_tag.size()), close_tag);
  if (lead.size() < open_tag.size() && open_tag.substr(0, lead.size()) == lead && !lead.empty()) {
    return ReasoningSplit{};  // "<thi": wait for the rest of the tag
  }
  std::size_t close = generated.find(close_tag);
  if (close != std::string_view::npos) {
    return ReasoningSplit{std::string(trim(generated.substr(0, close))),
                          std::string(ltrim(generated.substr(close + close_tag.size()))), false};
  }
  ReasoningSplit out;
  out.answer = std::string(ltrim(generated));
  return out;
}

}  // namespace logitscope
