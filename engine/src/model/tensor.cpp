// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/tensor.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "logitscope/errors.h"

namespace logitscope {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F8_E4M3: return "F8_E4M3";
    case DType::F8_E5M2: return "F8_E5M2";
    case DType::U8: return "U8";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16:
    case DType::BF16: return 2;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
    case DType::U8: return 1;
  }
  return 0;
}

const char* to_string(QuantFormat format) {
  switch (format) {
    case QuantFormat::None: return "none";
    case QuantFormat::Fp8: return "FP8";
    case QuantFormat::Nvfp4: return "NVFP4";
  }
  return "?";
}

float e4m3_to_float(std::uint8_t bits) {
  const int exponent = (bits >> 3) & 0xf, mantissa = bits & 0x7;
  const float sign = (bits & 0x80) ? -1.0f : 1.0f;
  if (exponent == 0xf && mantissa == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(float(mantissa), -9);  // subnormal: m / 8 * 2^-6
  return sign * std::ldexp(1.0f + float(mantissa) / 8.0f, exponent - 7);
}

float e5m2_to_float(std::uint8_t bits) {
  const int exponent = (bits >> 2) & 0x1f, mantissa = bits & 0x3;
  const float sign = (bits & 0x80) ? -1.0f : 1.0f;
  if (exponent == 0x1f) return mantissa ? std::numeric_limits<float>::quiet_NaN() : sign * std::numeric_limits<float>::infinity();
  if (exponent == 0) return sign * std::ldexp(float(mantissa), -16);  // m / 4 * 2^-14
  return sign * std::ldexp(1.0f + float(mantissa) / 4.0f, exponent - 15);
}

std::uint8_t float_to_e4m3(float value) {
  const std::uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  if (std::isnan(value)) return sign | 0x7f;
  const double a = std::fabs(double(value));
  if (a >= 448.0) return sign | 0x7e;  // saturate (the largest finite, S.1111.110)
  int e = 0;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1): the leading bit is 2^(e-1)
  // One code step is 2^(e-1-3) for normals, 2^-9 for subnormals (exponent field 0, e - 1 < -6).
  const int step_exp = std::max(e - 1, -6) - 3;
  const double steps = std::nearbyint(std::ldexp(a, -step_exp));  // round half to even
  // steps counts units of the step: for normals 8..16 (16 = the next binade), subnormals 0..8.
  int field_exp = std::max(e - 1, -6) + 7;  // the biased exponent (1 for subnormals' binade)
  int q = int(steps);
  if (e - 1 < -6) {
    // Subnormal binade: q in 0..8; 8 is the smallest normal (exponent field 1, mantissa 0).
    return sign | std::uint8_t(q);
  }
  if (q == 16) {  // rounded up into the next binade
    ++field_exp;
    q = 8;
  }
  if (field_exp > 15 || (field_exp == 15 && q - 8 > 6)) return sign | 0x7e;
  return sign | std::uint8_t((field_exp << 3) | (q - 8));
}

float e2m1_to_float(std::uint8_t code) {
  static const float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float m = kMagnitude[code & 0x7];
  return (code & 0x8) ? -m : m;
}

std::uint8_t float_to_e2m1(float value) {
  // Midpoints between neighbouring magnitudes; a tie goes to the even index (0.25 -> 0, 0.75 -> 1,
  // 1.25 -> 1, 1.75 -> 2, 2.5 -> 2, 3.5 -> 4, 5 -> 4); past 5 it is 6.
  static const float kBoundary[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  const std::uint8_t sign = value < 0.0f ? 0x8 : 0x0;
  if (std::isnan(value)) return 0x7;
  const float a = std::fabs(value);
  int index = 0;
  while (index < 7 && a > kBoundary[index]) ++index;
  if (index < 7 && a == kBoundary[index] && index % 2 == 1) ++index;  // the tie's even neighbour
  return sign | std::uint8_t(index);
}

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

QuantFormat TensorView::format() const { return quant ? quant->format : QuantFormat::None; }

float TensorView::at(std::int64_t i) const {
  if (quant) {
    const std::int64_t in = shape.back(), row = i / in, col = i % in;
    const auto byte = [&](const TensorView& t, std::int64_t k) { return std::uint8_t(t.data[k]); };
    if (quant->format == QuantFormat::Fp8) {
      const TensorView& s = quant->scale;
      const float scale = s.numel() == 1 ? s.at(0) : s.at(row);
      return e4m3_to_float(byte(*this, i)) * scale;
    }
    const std::uint8_t pair = byte(*this, i / 2);
    const std::uint8_t code = (i % 2 == 0) ? (pair & 0xf) : (pair >> 4);
    const float block = e4m3_to_float(byte(quant->scale, row * (in / 16) + col / 16));
    return e2m1_to_float(code) * block * quant->global_scale.at(0);
  }
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
    case DType::F8_E4M3: return e4m3_to_float(std::uint8_t(data[i]));
    case DType::F8_E5M2: return e5m2_to_float(std::uint8_t(data[i]));
    case DType::U8: return float(std::uint8_t(data[i]));
  }
  return 0.0f;
}

void TensorView::to_float(float* out, std::int64_t first, std::int64_t count) const {
  if (count < 0) count = numel() - first;
  if (first < 0 || first + count > numel()) throw Error("tensor " + name + ": element range out of bounds");
  if (dtype == DType::F32 && !quant) {
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
  if (quant) {
    // Scales with one entry (or block) per slice along the first dimension are sliced with it.
    auto scales = std::make_shared<QuantScales>(*quant);
    for (TensorView* t : {&scales->scale, &scales->global_scale, &scales->input_scale})
      if (t->present() && !t->shape.empty() && t->shape[0] == shape[0] && t->numel() > 1) *t = t->slice0(index);
    out.quant = std::move(scales);
  }
  return out;
}

}  // namespace logitscope
