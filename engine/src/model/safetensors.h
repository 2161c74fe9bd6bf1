// SPDX-License-Identifier: GPL-3.0-or-later
// Memory-mapped safetensors files: one file or a sharded set with model.safetensors.index.json.
// Every header is validated before any tensor byte is touched: well-formed JSON, known dtype,
// offsets inside the file, byte size = dtype size x shape, no overlaps. Sizes are checked before
// mapping so a truncated file is an error, never a SIGBUS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/tensor.h"

namespace logitscope {

// One mapped file.
class SafetensorsFile {
 public:
  // Throws logitscope::Error naming the file and the fault.
  explicit SafetensorsFile(const std::filesystem::path& path);
  // Parses and validates a header (also used by the fuzz target). `data_size` is the number of
  // bytes after the header; `data_base` (may be null) is where those bytes are mapped.
  static std::vector<TensorView> parse_header(std::string_view header_json, std::uint64_t data_size,
                                              const std::string& file_name, std::uint64_t data_start,
                                              const std::byte* data_base);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  std::uint64_t size() const { return size_; }

 private:
  std::string name_;
  void* mapping_ = nullptr;
  std::uint64_t size_ = 0;
  std::vector<TensorView> tensors_;
};

// All tensors of a snapshot, by name.
class SafetensorsSet {
 public:
  // Opens `dir`/model.safetensors.index.json (sharded) or the folder's *.safetensors files.
  static std::shared_ptr<SafetensorsSet> open(const std::filesystem::path& dir);

  const TensorView* find(std::string_view name) const;
  const std::map<std::string, TensorView, std::less<>>& tensors() const { return tensors_; }
  std::uint64_t total_bytes() const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView, std::less<>> tensors_;
};

}  // namespace logitscope
