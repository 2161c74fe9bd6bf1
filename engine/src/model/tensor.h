// SPDX-License-Identifier: GPL-3.0-or-later
// A read-only view of one tensor inside a memory-mapped safetensors file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace logitscope {

enum class DType { F32, F16, BF16 };

const char* to_string(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorView {
  std::string name;                  // e.g. "backbone.layers.3.mixer.in_proj.weight"
  std::string file;                  // shard file name, for messages
  DType dtype = DType::F32;
  std::string dtype_name = "F32";    // as written in the file; only F32/F16/BF16 are computable
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;   // null when the tensor is absent (optional biases)
  std::size_t nbytes = 0;
  std::uint64_t file_offset = 0;     // where the bytes start in `file` (for readers that do not map)

  bool present() const { return data != nullptr; }
  std::int64_t numel() const;
  std::string shape_string() const;  // "[10304, 2688]"
  // Converts element i (flat, row-major) to float.
  float at(std::int64_t i) const;
  // Converts the whole tensor (or rows [row0, row0+rows) of a 2-D+ tensor) to float.
  void to_float(float* out, std::int64_t first = 0, std::int64_t count = -1) const;
  std::vector<float> to_float() const;
  // A view of slice `index` along the first dimension (for fused 3-D expert tensors).
  TensorView slice0(std::int64_t index) const;
};

float bf16_to_float(std::uint16_t bits);
std::uint16_t float_to_bf16(float value);  // round to nearest even
float f16_to_float(std::uint16_t bits);

}  // namespace logitscope
