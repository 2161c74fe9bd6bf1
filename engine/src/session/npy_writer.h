// SPDX-License-Identifier: GPL-3.0-or-later
// NumPy .npy files (format 1.0, little-endian, C order) for the dense arrays of a trace.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace logitscope {

// Throws logitscope::Error naming the file when it cannot be written or the shape does not match.
void write_npy(const std::filesystem::path& path, std::span<const float> values, const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, std::span<const std::int32_t> values,
               const std::vector<std::int64_t>& shape);

}  // namespace logitscope
