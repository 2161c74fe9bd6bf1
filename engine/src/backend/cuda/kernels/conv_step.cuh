// SPDX-License-Identifier: GPL-3.0-or-later
// One decode step of the Mamba-2 causal depthwise conv for one channel, shared by the conv kernel
// (mamba.cu) and the decode in_proj epilogue (gemv.cu, ConvStep) so both compute the same values in
// the same order: out = silu(b + w[K-1] raw + sum_j w[j] state[j]), raw = bf16(x), and the state (the
// last K-1 raw inputs, oldest first, bf16) shifts in raw.
// Checked by: tests/gpu (check: decode vs the CPU reference, graph vs eager, every fixture).
#pragma once

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace logitscope::cuda {

// x: this token's pre-conv value of channel c (fp32, rounded to bf16 here). Returns silu(conv).
__device__ __forceinline__ float conv_channel_step(const ConvStep& s, int c, float x) {
  const int K = s.K;
  const float raw = round_bf16(x);
  float v = (s.b ? s.b[c] : 0.0f) + s.w[std::int64_t(c) * K + K - 1] * raw;
  bf16* st = s.state + std::int64_t(c) * (K - 1);
  float win[kMaxConvTaps - 1];
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j) win[j] = j < K - 1 ? __bfloat162float(st[j]) : 0.0f;
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j)
    if (j < K - 1) v += s.w[std::int64_t(c) * K + j] * win[j];
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j)
    if (j < K - 1) st[j] = __float2bfloat16(j < K - 2 ? win[j + 1] : raw);
  return silu(v);
}

// The finished row of a decode product: y[row] (+)= dot + b[row]; rows that are xBC channels of a
// decode in_proj also run that channel's conv step (conv.K > 0), so no separate conv kernel (and no
// round trip) follows. Shared by gemv.cu and gemv_quant.cu.
__device__ __forceinline__ void store_product_row(float* __restrict__ y, const float* __restrict__ bias, bool accumulate,
                                                  const ConvStep& conv, int row, float dot) {
  float v = dot;
  if (bias) v += bias[row];
  v = accumulate ? y[row] + v : v;
  y[row] = v;
  const int c = row - conv.offset;
  if (conv.K > 0 && c >= 0 && c < conv.conv_dim) conv.out[c] = conv_channel_step(conv, c, v);
}

}  // namespace logitscope::cuda
