// SPDX-License-Identifier: GPL-3.0-or-later
// Reads the Python-Jinja2 goldens of tests/fixtures/chat/goldens/ (made by
// tests/reference/chat/make_template_goldens.py).
#pragma once

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace logitscope::test {

inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::filesystem::path chat_fixtures() { return fixtures_dir() / "chat"; }

// The golden files pin strftime_now to 2025-03-14 09:26:53 (a Friday, day 73 of the year).
inline std::tm golden_now() {
  std::tm tm{};
  tm.tm_year = 125;
  tm.tm_mon = 2;
  tm.tm_mday = 14;
  tm.tm_hour = 9;
  tm.tm_min = 26;
  tm.tm_sec = 53;
  tm.tm_wday = 5;
  tm.tm_yday = 72;
  return tm;
}

inline nlohmann::ordered_json load_golden(const std::string& file) {
  return nlohmann::ordered_json::parse(read_file_bytes(chat_fixtures() / "goldens" / file));
}

inline std::vector<std::string> golden_template_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(chat_fixtures() / "goldens"))
    if (entry.path().extension() == ".json" && entry.path().filename() != "snippets.json")
      files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace logitscope::test
