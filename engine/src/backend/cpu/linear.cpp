// SPDX-License-Identifier: GPL-3.0-or-later
#include "backend/cpu/linear.h"

#include <vector>

namespace logitscope::cpu {

namespace {

// Eight partial sums let the compiler vectorise without reassociating (no -ffast-math needed).
float dot(const float* a, const float* b, std::int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

}  // namespace

void linear(ThreadPool& pool, const TensorView& weight, const TensorView& bias, const float* x, std::int64_t rows,
            float* y) {
  const std::int64_t out = weight.shape[0];
  const std::int64_t in = weight.numel() / out;
  pool.parallel_for(out, [&](std::int64_t begin, std::int64_t end) {
    thread_local std::vector<float> row;
    row.resize(static_cast<std::size_t>(in));
    for (std::int64_t o = begin; o < end; ++o) {
      const float* w;
      if (weight.dtype == DType::F32 && reinterpret_cast<std::uintptr_t>(weight.data) % alignof(float) == 0) {
        w = reinterpret_cast<const float*>(weight.data) + o * in;
      } else {
        weight.to_float(row.data(), o * in, in);
        w = row.data();
      }
      const float b = bias.present() ? bias.at(o) : 0.0f;
      for (std::int64_t t = 0; t < rows; ++t) y[t * out + o] = dot(w, x + t * in, in) + b;
    }
  }, 4);
}

void rms_norm(const float* x, const float* weight, std::int64_t n, double eps, float* y) {
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum / static_cast<float>(n) + static_cast<float>(eps));
  for (std::int64_t i = 0; i < n; ++i) y[i] = weight[i] * (x[i] * scale);
}

}  // namespace logitscope::cpu
