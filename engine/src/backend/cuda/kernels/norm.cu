// SPDX-License-Identifier: GPL-3.0-or-later
// RMSNorm of the residual stream and the Mamba-2 grouped gated RMSNorm.
// rmsnorm: one block of 256 threads per token; reads n fp32 + n weights, writes n bf16.
// gated_rmsnorm: one block per (token, group); g = y * silu(z) kept in registers/shared memory,
// normalised over the group (gate BEFORE the norm, per group of d/n_groups channels; see spec 2.1.6).
// The normalised value is multiplied by the weight in fp32 and rounded to bf16 once (the input of the
// next bf16 product). Checked by: tests/gpu (check over every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kThreads = 256;

__device__ float block_sum(float v, float* shared) {
  v = warp_sum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < int(blockDim.x / 32); ++i) total += shared[i];
  __syncthreads();
  return total;
}

__global__ void rmsnorm_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps, int n,
                               bf16* __restrict__ out) {
  pdl_enter();
  __shared__ float red[32];
  const float* row = x + std::int64_t(blockIdx.x) * n;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) ss += row[i] * row[i];
  const float r = rsqrtf(block_sum(ss, red) / float(n) + eps);
  bf16* o = out + std::int64_t(blockIdx.x) * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) o[i] = __float2bfloat16(w[i] * (row[i] * r));
}

__global__ void gated_rmsnorm_kernel(const float* __restrict__ y, const float* __restrict__ zxbcdt,
                                     int zstride, const float* __restrict__ w, int d, int group, float eps,
                                     bf16* __restrict__ out) {
  pdl_enter();
  __shared__ float red[32];
  const int t = blockIdx.x, g0 = blockIdx.y * group;
  const float* yr = y + std::int64_t(t) * d + g0;        // [group]
  const float* zr = zxbcdt + std::int64_t(t) * zstride + g0;  // gate slice z, [group]
  float ss = 0.0f;
  for (int i = threadIdx.x; i < group; i += blockDim.x) {
    const float g = yr[i] * silu(zr[i]);
    ss += g * g;
  }
  const float r = rsqrtf(block_sum(ss, red) / float(group) + eps);
  bf16* o = out + std::int64_t(t) * d + g0;
  for (int i = threadIdx.x; i < group; i += blockDim.x) {
    const float g = yr[i] * silu(zr[i]);   // recomputed: cheaper than a shared buffer of `group`
    o[i] = __float2bfloat16(w[g0 + i] * (g * r));
  }
}

}  // namespace

void rmsnorm(const float* x, const float* w, float eps, int T, int n, bf16* out, cudaStream_t stream) {
  launch_kernel(rmsnorm_kernel, T, kThreads, 0, stream, x, w, eps, n, out);
  LS_LAUNCH_CHECK();
}

void gated_rmsnorm(const float* y, const float* zxbcdt, int zstride, const float* w, int T, int d, int group,
                   float eps, bf16* out, cudaStream_t stream) {
  dim3 grid(T, d / group);
  launch_kernel(gated_rmsnorm_kernel, grid, kThreads, 0, stream, y, zxbcdt, zstride, w, d, group, eps, out);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
