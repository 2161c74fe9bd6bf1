// SPDX-License-Identifier: GPL-3.0-or-later
// A small, strict option parser for the subcommands: `--name value`, `--name=value`, `--flag`,
// repeated options. Unknown options and missing values are errors naming the option.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace logitscope::cli {

class Args {
 public:
  // `with_value`: options that take a value; `flags`: options that take none.
  Args(const std::vector<std::string>& words, const std::set<std::string>& with_value,
       const std::set<std::string>& flags);

  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;   // last occurrence
  std::vector<std::string> get_all(const std::string& name) const;
  std::string require(const std::string& name) const;              // throws naming the option
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::int64_t get_int(const std::string& name, std::int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> flags_seen_;
  std::vector<std::string> positional_;
};

// The bytes of a text file, whole ('-' = standard input); throws logitscope::Error naming the file.
std::string read_text_file(const std::string& path);

// The input of a scoring command: --ids 1,2,3, or the text of --text-file F (to be tokenized by the
// caller); throws logitscope::Error when neither is given.
struct IdsOrText {
  std::vector<std::int32_t> ids;
  std::string text;
};
IdsOrText ids_or_text(const Args& args);

// "5,17,42" or "5 17 42" or "[5, 17, 42]" -> ids; throws logitscope::Error naming `what`.
std::vector<std::int32_t> parse_id_list(const std::string& text, const std::string& what);

}  // namespace logitscope::cli
