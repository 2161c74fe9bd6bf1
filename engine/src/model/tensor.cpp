// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/tensor.h"

#include <cstring>

#include "logitscope/errors.h"

namespace logitscope {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

float bf16_to_float(std::uint16_t bits) {
  std::uint32_t wide = std::uint32_t(bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof(out));
  return out;
}

std::uint16_t float_to_bf16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);  // NaN stays NaN
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string TensorView::shape_string() const {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

float TensorView::at(std::int64_t i) const {
  switch (dtype) {
    case DType::F32: {
      float v;
      std::memcpy(&v, data + i * 4, 4);
      return v;
    }
    case DType::BF16: {
      std::uint16_t v;
      std::memcpy(&v, data + i * 2, 2);
      return bf16_to_float(v);
    }
    case DType::F16: {
      std::uint16_t v;
      std::memcpy(&v, data + i * 2, 2);
      return f16_to_float(v);
    }
  }
  return 0.0f;
}

void TensorView::to_float(float* out, std::int64_t first, std::int64_t count) const {
  if (count < 0) count = numel() - first;
  if (first < 0 || first + count > numel()) throw Error("tensor " + name + ": element range out of bounds");
  if (dtype == DType::F32) {
    std::memcpy(out, data + first * 4, std::size_t(count) * 4);
    return;
  }
  for (std::int64_t i = 0; i < count; ++i) out[i] = at(first + i);
}

std::vector<float> TensorView::to_float() const {
  std::vector<float> out(static_cast<std::size_t>(numel()));
  if (!out.empty()) to_float(out.data());
  return out;
}

TensorView TensorView::slice0(std::int64_t index) const {
  if (shape.empty() || index < 0 || index >= shape[0]) throw Error("tensor " + name + ": slice out of range");
  TensorView out = *this;
  out.shape.erase(out.shape.begin());
  const std::size_t row_bytes = nbytes / static_cast<std::size_t>(shape[0]);
  out.data = data + row_bytes * static_cast<std::size_t>(index);
  out.nbytes = row_bytes;
  out.name = name + "[" + std::to_string(index) + "]";
  return out;
}

}  // namespace logitscope
