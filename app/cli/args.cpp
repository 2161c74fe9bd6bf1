// SPDX-License-Identifier: GPL-3.0-or-later
#include "args.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "logitscope/errors.h"

namespace logitscope::cli {

std::string read_text_file(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the text file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

IdsOrText ids_or_text(const Args& args) {
  IdsOrText in;
  if (auto list = args.get("ids")) in.ids = parse_id_list(*list, "--ids");
  else if (auto file = args.get("text-file")) in.text = read_text_file(*file);
  else throw Error("give the tokens: --ids 1,2,3 or --text-file F");
  return in;
}

Args::Args(const std::vector<std::string>& words, const std::set<std::string>& with_value,
           const std::set<std::string>& flags) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.size() < 2 || word.rfind("--", 0) != 0) {
      positional_.push_back(word);
      continue;
    }
    std::string name = word.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (with_value.count(name)) {
      if (inline_value) {
        values_[name].push_back(*inline_value);
      } else if (i + 1 < words.size()) {
        values_[name].push_back(words[++i]);
      } else {
        throw Error("option --" + name + " needs a value");
      }
    } else if (flags.count(name)) {
      if (inline_value) throw Error("option --" + name + " takes no value");
      flags_seen_.insert(name);
    } else {
      throw Error("unknown option --" + name);
    }
  }
}

bool Args::has(const std::string& name) const { return flags_seen_.count(name) || values_.count(name); }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::require(const std::string& name) const {
  auto value = get(name);
  if (!value) throw Error("missing required option --" + name);
  return *value;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::int64_t Args::get_int(const std::string& name, std::int64_t fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(value->c_str(), &end, 10);
  if (value->empty() || *end != '\0' || errno == ERANGE)
    throw Error("option --" + name + " expects an integer, got '" + *value + "'");
  return parsed;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  errno = 0;
  char* end = nullptr;
  double parsed = std::strtod(value->c_str(), &end);
  if (value->empty() || *end != '\0' || errno == ERANGE)
    throw Error("option --" + name + " expects a number, got '" + *value + "'");
  return parsed;
}

std::vector<std::int32_t> parse_id_list(const std::string& text, const std::string& what) {
  std::vector<std::int32_t> ids;
  std::string digits;
  auto flush = [&] {
    if (digits.empty()) return;
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(digits.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || value < 0 || value > INT32_MAX)
      throw Error(what + ": '" + digits + "' is not a token id");
    ids.push_back(static_cast<std::int32_t>(value));
    digits.clear();
  };
  for (char c : text) {
    if ((c >= '0' && c <= '9') || c == '-') {
      digits.push_back(c);
    } else if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '[' || c == ']' || c == '\r') {
      flush();
    } else {
      throw Error(what + ": unexpected character '" + std::string(1, c) + "' (expected ids such as 5,17,42)");
    }
  }
  flush();
  return ids;
}

}  // namespace logitscope::cli
