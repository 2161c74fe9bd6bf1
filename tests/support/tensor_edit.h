// SPDX-License-Identifier: GPL-3.0-or-later
// Editing tensor values in a copy of a fixture checkpoint, so a test can build the model an
// intervention should be equal to (a router bias that rules an expert out, a zeroed output
// projection) and compare the intervention against that model's plain forward pass.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint_edit.h"

namespace logitscope::test {

// Values of one tensor, decoded to float; `shape` as stored.
struct TensorValues {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

namespace detail {

inline float bf16_to_float(std::uint16_t bits) {
  const std::uint32_t wide = std::uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

inline std::uint16_t float_to_bf16(float f) {  // round to nearest even; the test values are finite
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return std::uint16_t(bits >> 16);
}

}  // namespace detail

// Rewrites, in every *.safetensors file of `dir`, each tensor whose name matches `pattern`
// (std::regex_search): decoded to float (F32 or BF16), passed to `edit`, encoded back in place.
// Returns how many tensors it edited; throws for any other dtype.
inline int edit_tensors(const std::filesystem::path& dir, const std::string& pattern,
                        const std::function<void(TensorValues&)>& edit) {
  const std::regex select(pattern);
  int edited = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".safetensors") continue;
    std::string bytes = read_all(entry.path());
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[std::size_t(i)]);
    const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
    bool changed = false;
    for (const auto& [name, info] : header.items()) {
      if (name == "__metadata__" || !std::regex_search(name, select)) continue;
      const std::string dtype = info.at("dtype");
      const auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
      char* data = bytes.data() + 8 + n + offsets[0];
      const std::size_t size = offsets[1] - offsets[0];
      TensorValues t{name, info.at("shape").get<std::vector<std::int64_t>>(), {}};
      if (dtype == "F32") {
        t.values.resize(size / 4);
        std::memcpy(t.values.data(), data, size);
      } else if (dtype == "BF16") {
        for (std::size_t i = 0; i < size / 2; ++i) {
          std::uint16_t bits;
          std::memcpy(&bits, data + 2 * i, 2);
          t.values.push_back(detail::bf16_to_float(bits));
        }
      } else {
        throw std::runtime_error("edit_tensors: " + name + " is " + dtype + " (F32 or BF16 only)");
      }
      edit(t);
      if (dtype == "F32") {
        std::memcpy(data, t.values.data(), size);
      } else {
        for (std::size_t i = 0; i < size / 2; ++i) {
          const std::uint16_t bits = detail::float_to_bf16(t.values[i]);
          std::memcpy(data + 2 * i, &bits, 2);
        }
      }
      changed = true;
      ++edited;
    }
    if (changed) write_all(entry.path(), bytes);
  }
  return edited;
}

// The regex prefix of layer `layer`'s mixer tensors, in either naming (backbone.layers.N.mixer. or
// model.layers.N.mixer.).
inline std::string mixer_prefix(int layer) { return "(^|\\.)layers\\." + std::to_string(layer) + "\\.mixer\\."; }

}  // namespace logitscope::test
