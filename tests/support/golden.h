// SPDX-License-Identifier: GPL-3.0-or-later
// Golden outputs written by tests/reference/make_fixtures.py (HF transformers) beside each fixture.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace logitscope::test {

inline std::vector<std::string> fixture_model_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir() / "models"))
    if (std::filesystem::exists(entry.path() / "golden.json")) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// FP8 / NVFP4 checkpoints in NVIDIA ModelOpt's layout with goldens from the dequantized weights
// (tests/reference/make_quantized_fixtures.py), as "quantized/<name>".
inline std::vector<std::string> quantized_fixture_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir() / "quantized"))
    if (std::filesystem::exists(entry.path() / "golden.json")) names.push_back("quantized/" + entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The bundled demo model (resources/demo-model), trained by tools/demo-model/train.py.
inline std::filesystem::path demo_model_dir() { return data_dir().parent_path() / "resources" / "demo-model"; }

// Folder of a model with goldens: a fixture name, "quantized/<name>", or "demo-model".
inline std::filesystem::path model_dir(const std::string& name) {
  if (name == "demo-model") return demo_model_dir();
  return name.find('/') != std::string::npos ? fixtures_dir() / name : fixtures_dir() / "models" / name;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

inline nlohmann::json golden(const std::string& name) { return read_json(model_dir(name) / "golden.json"); }

inline std::set<int> expert_set(const nlohmann::json& slice) {
  std::set<int> out;
  for (const auto& e : slice.at("experts")) out.insert(e.get<int>());
  return out;
}

}  // namespace logitscope::test
