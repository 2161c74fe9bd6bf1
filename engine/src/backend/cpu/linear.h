// SPDX-License-Identifier: GPL-3.0-or-later
// fp32 building blocks of the CPU reference: matrix products straight from the mapped weights
// (F32, BF16 or F16, converted row by row, so a BF16 checkpoint is never copied whole), RMSNorm
// and activations.
#pragma once

#include <cmath>
#include <cstdint>

#include "backend/cpu/thread_pool.h"
#include "model/tensor.h"

namespace logitscope::cpu {

// y[t, o] = sum_i W[o, i] * x[t, i] + bias[o], for t < rows.  W: [out, in]; x: [rows, in]; y: [rows, out].
void linear(ThreadPool& pool, const TensorView& weight, const TensorView& bias, const float* x, std::int64_t rows,
            float* y);

// y = weight * (x / sqrt(mean(x^2) + eps)) over `n` elements (HF NemotronHRMSNorm in float32).
void rms_norm(const float* x, const float* weight, std::int64_t n, double eps, float* y);

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
// torch.nn.functional.softplus with beta 1 and threshold 20.
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
inline float relu_squared(float x) { return x > 0.0f ? x * x : 0.0f; }

}  // namespace logitscope::cpu
