// SPDX-License-Identifier: GPL-3.0-or-later
// Mamba-2 causal conv (spec 2.1 step 2); the SSM scan that follows is in mamba_scan.cu.
//
// mamba_conv: causal depthwise conv (kernel K) + SiLU over T tokens, continuing from the cached last
//   K-1 raw (pre-conv) xBC rows. Up to 16 tokens: one thread per channel, sequential over t (decode runs
//   the same step in the in_proj epilogue instead, gemv.cu); longer
//   chunks: one thread per (channel, token), then a kernel that rolls the state forward. Raw inputs are rounded
//   to bf16 first so that prefill and token-by-token decode (which reads the bf16 conv state) see the
//   same values. Bytes: T * conv_dim * (4 in + 4 out) + state 2 * conv_dim * (K-1) * 2.
// Checked by: tests/gpu (check: prefill all-logits and token-by-token decode vs the CPU reference).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/conv_step.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kSequentialConvTokens = 16;  // up to this many tokens: the one-launch sequential kernel

// One thread per channel, the tokens in series, the state updated in place (conv_step.cuh: the same
// step the decode in_proj runs in its epilogue).
__global__ void mamba_conv_kernel(const float* __restrict__ zxbcdt, int stride, ConvStep step, int T) {
  pdl_enter();
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= step.conv_dim) return;
  for (int t = 0; t < T; ++t)
    step.out[std::int64_t(t) * step.conv_dim + c] =
        conv_channel_step(step, c, zxbcdt[std::int64_t(t) * stride + step.offset + c]);
}

// Prompt version: one thread per (channel, token). The conv has only K taps, so every output is
// independent of the others: v1-v3 walked the tokens in series per channel (1.1 ms per layer at
// 2048 tokens on the H100, 13% of the prompt). Same arithmetic in the same order as the sequential
// kernel. The conv state is rolled forward afterwards by mamba_conv_state_kernel (it is read here).
__global__ void mamba_conv_parallel_kernel(const float* __restrict__ zxbcdt, int stride, int offset, int conv_dim,
                                           int K, const float* __restrict__ conv_w, const float* __restrict__ conv_b,
                                           const bf16* __restrict__ conv_state, int T, float* __restrict__ xbc) {
  pdl_enter();
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  const int t = blockIdx.y;
  if (c >= conv_dim) return;
  auto raw_at = [&](int tt) -> float {  // the raw (pre-conv) input of token tt, from the state before 0
    return tt >= 0 ? round_bf16(zxbcdt[std::int64_t(tt) * stride + offset + c])
                   : __bfloat162float(conv_state[std::int64_t(c) * (K - 1) + (K - 1 + tt)]);
  };
  float v = (conv_b ? conv_b[c] : 0.0f) + conv_w[std::int64_t(c) * K + K - 1] * raw_at(t);
  for (int j = 0; j < K - 1; ++j) v += conv_w[std::int64_t(c) * K + j] * raw_at(t - (K - 1) + j);
  xbc[std::int64_t(t) * conv_dim + c] = silu(v);
}

// conv_state[c] = the last K-1 raw inputs after T tokens (old state rows shift in when T < K-1).
__global__ void mamba_conv_state_kernel(const float* __restrict__ zxbcdt, int stride, int offset, int conv_dim,
                                        int K, bf16* __restrict__ conv_state, int T) {
  pdl_enter();
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= conv_dim) return;
  float win[kMaxConvTaps - 1];
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j) {
    if (j >= K - 1) break;
    const int tt = T - (K - 1) + j;  // token of window row j
    win[j] = tt >= 0 ? round_bf16(zxbcdt[std::int64_t(tt) * stride + offset + c])
                     : __bfloat162float(conv_state[std::int64_t(c) * (K - 1) + (K - 1 + tt)]);
  }
#pragma unroll
  for (int j = 0; j < kMaxConvTaps - 1; ++j)
    if (j < K - 1) conv_state[std::int64_t(c) * (K - 1) + j] = __float2bfloat16(win[j]);
}

}  // namespace

void mamba_conv(const float* zxbcdt, int stride, int offset, int conv_dim, int K, const float* conv_w,
                const float* conv_b, bf16* conv_state, int T, float* xbc, cudaStream_t stream) {
  if (K < 2 || K > kMaxConvTaps)
    throw Error("conv_kernel " + std::to_string(K) + " is not supported (2.." + std::to_string(kMaxConvTaps) + ")");
  if (T <= kSequentialConvTokens) {  // decode and short chunks: one launch, state updated in place
    const ConvStep step{K, offset, conv_dim, conv_w, conv_b, conv_state, xbc};
    launch_kernel(mamba_conv_kernel, (conv_dim + 127) / 128, 128, 0, stream, zxbcdt, stride, step, T);
    LS_LAUNCH_CHECK();
    return;
  }
  launch_kernel(mamba_conv_parallel_kernel, dim3((conv_dim + 127) / 128, T), 128, 0, stream, zxbcdt, stride, offset,
                conv_dim, K, conv_w, conv_b, conv_state, T, xbc);
  LS_LAUNCH_CHECK();
  launch_kernel(mamba_conv_state_kernel, (conv_dim + 127) / 128, 128, 0, stream, zxbcdt, stride, offset, conv_dim, K,
                conv_state, T);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
