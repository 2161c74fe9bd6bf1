// SPDX-License-Identifier: GPL-3.0-or-later
// Small memory-bound kernels: embedding gather, relu^2 with bias, bias add, scaled add (interventions), dtype conversion on
// upload, the deterministic random fill of synthetic weights, and the kernel timeline's end mark. All are grid-stride loops over
// elements (256 threads per block) that read and write each element once.
// Checked by: tests/gpu (check over every fixture exercises embed/relu2/convert; bench --synthetic
// exercises the random fill).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

#include <cuda_fp16.h>

namespace logitscope::cuda {
namespace {

constexpr int kThreads = 256;
inline int blocks_for(std::int64_t n) {
  const std::int64_t b = (n + kThreads - 1) / kThreads;
  return int(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

__global__ void embed_kernel(const bf16* __restrict__ table, const int* __restrict__ ids, int n,
                             float* __restrict__ out) {
  pdl_enter();
  const bf16* row = table + std::int64_t(ids[blockIdx.x]) * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) out[std::int64_t(blockIdx.x) * n + i] = __bfloat162float(row[i]);
}

__global__ void relu2_kernel(const float* __restrict__ in, const float* __restrict__ bias,
                             const int* __restrict__ row_expert, std::int64_t total, int width,
                             bf16* __restrict__ out) {
  pdl_enter();
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / width;
    const int c = int(i % width);
    float v = in[i];
    if (bias) v += bias[(row_expert ? std::int64_t(row_expert[r]) * width : 0) + c];
    v = fmaxf(v, 0.0f);
    out[i] = __float2bfloat16(v * v);
  }
}

__global__ void add_bias_kernel(float* __restrict__ y, const float* __restrict__ b, std::int64_t total, int n) {
  pdl_enter();
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::int64_t(gridDim.x) * blockDim.x)
    y[i] += b[i % n];
}

__global__ void add_scaled_kernel(float* __restrict__ y, const float* __restrict__ x, float a, std::int64_t n) {
  pdl_enter();
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    y[i] += a * x[i];
}

template <typename Out>
__device__ __forceinline__ Out cast_out(float v);
template <>
__device__ __forceinline__ float cast_out<float>(float v) { return v; }
template <>
__device__ __forceinline__ bf16 cast_out<bf16>(float v) { return __float2bfloat16(v); }

template <typename Out>
__global__ void convert_kernel(const void* __restrict__ src, int dtype, Out* __restrict__ dst, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    float v;
    if (dtype == 0) v = static_cast<const float*>(src)[i];
    else if (dtype == 1) v = __half2float(static_cast<const __half*>(src)[i]);
    else v = __bfloat162float(static_cast<const bf16*>(src)[i]);
    dst[i] = cast_out<Out>(v);
  }
}

__device__ __forceinline__ std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// Never zero: magnitude in [0.1, 1) * scale, random sign.
__device__ __forceinline__ float random_value(std::uint64_t seed, std::int64_t i, float scale) {
  const std::uint64_t r = splitmix(seed ^ splitmix(std::uint64_t(i)));
  const float u = float(r >> 40) * (1.0f / 16777216.0f);
  const float mag = (0.1f + 0.9f * u) * scale;
  return (r & 1) ? mag : -mag;
}

__global__ void fill_bf16_kernel(bf16* __restrict__ dst, std::int64_t n, std::uint64_t seed, float scale) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16(random_value(seed, i, scale));
}

__global__ void fill_f32_kernel(float* __restrict__ dst, std::int64_t n, std::uint64_t seed, float scale, float offset) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    dst[i] = offset + random_value(seed, i, scale);
}

// Does nothing but pass pdl_enter(): in a timeline build its stamp closes the last stage of a graph.
__global__ void timeline_end_kernel() { pdl_enter(); }

}  // namespace

void timeline_end(cudaStream_t stream) {
  launch_kernel(timeline_end_kernel, 1, 32, 0, stream);
  LS_LAUNCH_CHECK();
}

void embed(const bf16* table, const int* ids, int T, int n, float* out, cudaStream_t stream) {
  launch_kernel(embed_kernel, T, kThreads, 0, stream, table, ids, n, out);
  LS_LAUNCH_CHECK();
}

void relu2_rows(const float* in, const float* bias, const int* row_expert, int rows, int width, bf16* out,
                cudaStream_t stream) {
  const std::int64_t total = std::int64_t(rows) * width;
  if (total == 0) return;
  launch_kernel(relu2_kernel, blocks_for(total), kThreads, 0, stream, in, bias, row_expert, total, width, out);
  LS_LAUNCH_CHECK();
}

void add_bias_rows(float* y, const float* b, int rows, int n, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(rows) * n;
  launch_kernel(add_bias_kernel, blocks_for(total), kThreads, 0, stream, y, b, total, n);
  LS_LAUNCH_CHECK();
}

void add_scaled(float* y, const float* x, float a, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  launch_kernel(add_scaled_kernel, blocks_for(n), kThreads, 0, stream, y, x, a, n);
  LS_LAUNCH_CHECK();
}

void f32_to_bf16(const float* in, bf16* out, std::int64_t n, cudaStream_t stream) {
  convert_kernel<bf16><<<blocks_for(n), kThreads, 0, stream>>>(in, 0, out, n);
  LS_LAUNCH_CHECK();
}

void convert_to_bf16(const void* src, int src_dtype, bf16* dst, std::int64_t n, cudaStream_t stream) {
  convert_kernel<bf16><<<blocks_for(n), kThreads, 0, stream>>>(src, src_dtype, dst, n);
  LS_LAUNCH_CHECK();
}

void convert_to_f32(const void* src, int src_dtype, float* dst, std::int64_t n, cudaStream_t stream) {
  convert_kernel<float><<<blocks_for(n), kThreads, 0, stream>>>(src, src_dtype, dst, n);
  LS_LAUNCH_CHECK();
}

void fill_random_bf16(bf16* dst, std::int64_t n, std::uint64_t seed, float scale, cudaStream_t stream) {
  fill_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(dst, n, seed, scale);
  LS_LAUNCH_CHECK();
}

void fill_random_f32(float* dst, std::int64_t n, std::uint64_t seed, float scale, float offset, cudaStream_t stream) {
  fill_f32_kernel<<<blocks_for(n), kThreads, 0, stream>>>(dst, n, seed, scale, offset);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
