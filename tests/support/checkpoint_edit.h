// SPDX-License-Identifier: GPL-3.0-or-later
// Damaging copies of fixture checkpoints for the bad-input tests: copy a fixture folder, rewrite a
// JSON file or a safetensors header (the data section kept), and load to get the error text.
#pragma once

#include <QTemporaryDir>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "logitscope/errors.h"
#include "logitscope/model.h"

namespace logitscope::test {

// A writable copy of `source` (a fixture folder) as `tmp`/<its name>.
inline std::filesystem::path copy_fixture_dir(const QTemporaryDir& tmp, const std::filesystem::path& source) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(tmp.path().toStdString()) / source.filename();
  fs::copy(source, dir, fs::copy_options::recursive);
  for (const auto& f : fs::directory_iterator(dir)) fs::permissions(f.path(), fs::perms::owner_write, fs::perm_options::add);
  return dir;
}

// The message Model::load throws for `dir`, or "" when it loads.
inline std::string load_error(const std::filesystem::path& dir) {
  LoadOptions options;
  options.snapshot.model = dir.string();
  try {
    Model::load(options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_all(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline void edit_json(const std::filesystem::path& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json value = nlohmann::json::parse(read_all(path));
  edit(value);
  write_all(path, value.dump(2));
}

// Rewrites a safetensors header through `edit`, keeping the data section.
inline void edit_header(const std::filesystem::path& path, const std::function<void(nlohmann::json&)>& edit) {
  const std::string bytes = read_all(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header);
  const std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  write_all(path, out + text + bytes.substr(8 + n));
}

}  // namespace logitscope::test
