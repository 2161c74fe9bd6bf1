// SPDX-License-Identifier: GPL-3.0-or-later
// PCRE2 with UTF + UCP (so \s, \w and \p{..} are Unicode-aware like Oniguruma in the Rust crate),
// JIT-compiled. Thread-safe: match data is allocated per thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace logitscope::tok {

class Regex {
 public:
  // Throws logitscope::Error with `what` (e.g. "tokenizer.json: pre_tokenizer Split") on a bad pattern.
  Regex(const std::string& pattern, const std::string& what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches [start, end) in `text` (valid UTF-8), left to right.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

}  // namespace logitscope::tok
