// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the fuzz targets: a scratch file for parsers that only read from disk.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace logitscope::fuzz {

// A per-process scratch directory, on /dev/shm when it exists (no disk wear at 10k execs/s).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::exists("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                                          : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("logitscope-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d, ec);
    return d;
  }();
  return dir;
}

// Writes `size` bytes to scratch_dir()/name and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size) {
  std::filesystem::path path = scratch_dir() / name;
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

}  // namespace logitscope::fuzz
