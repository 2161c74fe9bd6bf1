// SPDX-License-Identifier: GPL-3.0-or-later
// A read-only view of one tensor inside a memory-mapped safetensors file (or a buffer the engine
// owns), and the number formats the engine reads: F32, F16, BF16, FP8 (E4M3, E5M2) and the E2M1
// codes NVFP4 packs two to a byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace logitscope {

enum class DType { F32, F16, BF16, F8_E4M3, F8_E5M2, U8 };

const char* to_string(DType dtype);
std::size_t dtype_size(DType dtype);

// How a linear weight is stored. Fp8: one E4M3 per weight times a scale per tensor or per output
// row. Nvfp4: two E2M1 codes per byte along the input dimension (even element in the low nibble),
// an E4M3 scale per 16 inputs of a row, and an fp32 scale per tensor (NVIDIA ModelOpt's layouts).
enum class QuantFormat { None, Fp8, Nvfp4 };
const char* to_string(QuantFormat format);

struct QuantScales;

struct TensorView {
  std::string name;                  // e.g. "backbone.layers.3.mixer.in_proj.weight"
  std::string file;                  // shard file name, for messages
  DType dtype = DType::F32;          // how the bytes are stored (a quantized weight: F8_E4M3 or U8)
  std::string dtype_name = "F32";    // as written in the file
  std::vector<std::int64_t> shape;   // logical shape: a quantized weight's [out, in], not its bytes'
  const std::byte* data = nullptr;   // null when the tensor is absent (optional biases)
  std::size_t nbytes = 0;
  std::uint64_t file_offset = 0;     // where the bytes start in `file` (for readers that do not map)
  std::shared_ptr<const QuantScales> quant;  // set for a quantized linear weight

  bool present() const { return data != nullptr; }
  QuantFormat format() const;
  std::int64_t numel() const;
  std::string shape_string() const;  // "[10304, 2688]"
  // Converts element i (flat, row-major, logical) to float; quantized weights are dequantized
  // exactly in fp32: FP8 q * scale, NVFP4 e2m1(code) * float(block scale) * global scale.
  float at(std::int64_t i) const;
  // Converts the whole tensor (or elements [first, first + count)) to float.
  void to_float(float* out, std::int64_t first = 0, std::int64_t count = -1) const;
  std::vector<float> to_float() const;
  // A view of slice `index` along the first dimension (for fused 3-D expert tensors).
  TensorView slice0(std::int64_t index) const;
};

// The scales that turn a quantized weight's codes into numbers (checkpoint tensor names in comments).
struct QuantScales {
  QuantFormat format = QuantFormat::None;
  TensorView scale;         // weight_scale. Fp8: F32, 1 element or one per output row [out];
                            // Nvfp4: F8_E4M3 [out, in / 16]
  TensorView global_scale;  // weight_scale_2 (Nvfp4): F32, 1 element
  TensorView input_scale;   // input_scale: F32, 1 element (static activation scale; may be absent)
};

float bf16_to_float(std::uint16_t bits);
std::uint16_t float_to_bf16(float value);  // round to nearest even
float f16_to_float(std::uint16_t bits);
// FP8 E4M3 "fn" (bias 7, no infinities, 0x7F/0xFF NaN, max 448) and E5M2 (IEEE-like, bias 15).
float e4m3_to_float(std::uint8_t bits);
float e5m2_to_float(std::uint8_t bits);
// Round to nearest even, saturating at +-448 (NaN stays NaN) - as CUDA's __NV_SATFINITE conversion.
std::uint8_t float_to_e4m3(float value);
// E2M1 code (bit 3 sign, bits 2..0 magnitude index into {0, 0.5, 1, 1.5, 2, 3, 4, 6}).
float e2m1_to_float(std::uint8_t code);
// Round half to even on the E2M1 grid, saturating at +-6; the sign of -0 is kept (code 8), as NVIDIA
// ModelOpt's NVFP4 quantizer does.
std::uint8_t float_to_e2m1(float value);

}  // namespace logitscope
