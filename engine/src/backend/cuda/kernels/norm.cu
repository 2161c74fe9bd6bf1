// SPDX-License-Identifier: GPL-3.0-or-later
// RMSNorm of the residual stream and the Mamba-2 grouped gated RMSNorm.
// rmsnorm: one block of 256 threads per token; reads n fp32 + n weights, writes n bf16 (rows of
// n % 4 == 0 floats up to 8192: all loads in flight at once, rmsnorm_vec_kernel).
// gated_rmsnorm: one block per (token, group); g = y * silu(z) kept in registers (up to 1024
// channels; every load issued before the first use),
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

// The decode shape (and any row of n % 4 == 0 floats, n <= 4 * kThreads * PER): every load of the
// row and the weights is issued before the first use, so one block costs one memory round trip, not
// one per strided iteration (the loop above measured ~8 us per call inside the decode graph, H200).
template <int PER>
__global__ void rmsnorm_vec_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps, int n,
                                   bf16* __restrict__ out) {
  pdl_enter();
  __shared__ float red[32];
  const int n4 = n / 4;
  const float4* row = reinterpret_cast<const float4*>(x + std::int64_t(blockIdx.x) * n);  // [n4]
  const float4* w4 = reinterpret_cast<const float4*>(w);                                   // [n4]
  float4 xv[PER], wv[PER];
  float ss = 0.0f;
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    const int i = threadIdx.x + p * kThreads;
    xv[p] = i < n4 ? row[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    wv[p] = i < n4 ? w4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }
#pragma unroll
  for (int p = 0; p < PER; ++p) ss += xv[p].x * xv[p].x + xv[p].y * xv[p].y + xv[p].z * xv[p].z + xv[p].w * xv[p].w;
  const float r = rsqrtf(block_sum(ss, red) / float(n) + eps);
  __nv_bfloat162* o = reinterpret_cast<__nv_bfloat162*>(out + std::int64_t(blockIdx.x) * n);  // [n / 2]
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    const int i = threadIdx.x + p * kThreads;
    if (i >= n4) break;
    o[2 * i] = __floats2bfloat162_rn(wv[p].x * (xv[p].x * r), wv[p].y * (xv[p].y * r));
    o[2 * i + 1] = __floats2bfloat162_rn(wv[p].z * (xv[p].z * r), wv[p].w * (xv[p].w * r));
  }
}

// Each thread keeps its first PER channels of the group in registers (every load issued before the
// first use: groups up to kThreads * PER = 1024 channels, 512 at the 30B-A3B shape); channels past
// those (larger groups) take a strided loop and are recomputed for the output.
template <int PER>
__global__ void gated_rmsnorm_kernel(const float* __restrict__ y, const float* __restrict__ zxbcdt, int zstride,
                                     const float* __restrict__ w, int d, int group, float eps, bf16* __restrict__ out) {
  pdl_enter();
  __shared__ float red[32];
  const int t = blockIdx.x, g0 = blockIdx.y * group;
  const float* yr = y + std::int64_t(t) * d + g0;             // [group]
  const float* zr = zxbcdt + std::int64_t(t) * zstride + g0;  // gate slice z, [group]
  float gv[PER], zv[PER], wv[PER];
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    const int i = threadIdx.x + p * kThreads;
    gv[p] = i < group ? yr[i] : 0.0f;
    zv[p] = i < group ? zr[i] : 0.0f;
    wv[p] = i < group ? w[g0 + i] : 0.0f;
  }
  float ss = 0.0f;
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    gv[p] *= silu(zv[p]);  // g = y silu(z); 0 past the group
    ss += gv[p] * gv[p];
  }
  for (int i = threadIdx.x + PER * kThreads; i < group; i += kThreads) {
    const float g = yr[i] * silu(zr[i]);
    ss += g * g;
  }
  const float r = rsqrtf(block_sum(ss, red) / float(group) + eps);
  bf16* o = out + std::int64_t(t) * d + g0;
#pragma unroll
  for (int p = 0; p < PER; ++p) {
    const int i = threadIdx.x + p * kThreads;
    if (i < group) o[i] = __float2bfloat16(wv[p] * (gv[p] * r));
  }
  for (int i = threadIdx.x + PER * kThreads; i < group; i += kThreads)
    o[i] = __float2bfloat16(w[g0 + i] * (yr[i] * silu(zr[i]) * r));
}

}  // namespace

void rmsnorm(const float* x, const float* w, float eps, int T, int n, bf16* out, cudaStream_t stream) {
  // float4 per thread: 4 for rows up to 4096 floats (the 30B-A3B's 2688), 8 up to 8192.
  const bool vec = n % 4 == 0 && n <= 4 * kThreads * 8 && reinterpret_cast<std::uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<std::uintptr_t>(w) % 16 == 0 && reinterpret_cast<std::uintptr_t>(out) % 4 == 0;
  if (vec) {
    if (n <= 4 * kThreads * 4)
      launch_kernel(rmsnorm_vec_kernel<4>, T, kThreads, 0, stream, x, w, eps, n, out);
    else
      launch_kernel(rmsnorm_vec_kernel<8>, T, kThreads, 0, stream, x, w, eps, n, out);
    LS_LAUNCH_CHECK();
    return;
  }
  launch_kernel(rmsnorm_kernel, T, kThreads, 0, stream, x, w, eps, n, out);
  LS_LAUNCH_CHECK();
}

void gated_rmsnorm(const float* y, const float* zxbcdt, int zstride, const float* w, int T, int d, int group,
                   float eps, bf16* out, cudaStream_t stream) {
  dim3 grid(T, d / group);
  launch_kernel(gated_rmsnorm_kernel<4>, grid, kThreads, 0, stream, y, zxbcdt, zstride, w, d, group, eps, out);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
