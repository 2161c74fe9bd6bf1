// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the CUDA kernels: error checks, bf16 conversion, warp reductions.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "logitscope/errors.h"

namespace logitscope::cuda {

using bf16 = __nv_bfloat16;

// The one out-of-memory message, for CUDA and cuBLAS alike: where it happened and what is free.
[[noreturn]] inline void throw_out_of_memory(const std::string& where, std::size_t free_b, std::size_t total_b) {
  throw OutOfMemory("out of GPU memory in " + where + ": " + std::to_string(free_b >> 20) + " MiB of " +
                    std::to_string(total_b >> 20) + " MiB free. Close another session or use a shorter max context.");
}

// Every CUDA call is checked: a failed call becomes a logitscope::Error naming the call and the
// CUDA message, so a user sees "cudaMalloc: out of memory" instead of garbage logits.
inline void check_cuda(cudaError_t status, const char* what, const char* file, int line) {
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so that the next launch check does not report it again
    std::size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    throw_out_of_memory(what, free_b, total_b);
  }
  if (status != cudaSuccess) {
    throw Error(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                "): " + cudaGetErrorString(status));
  }
}
#define LS_CUDA(call) ::logitscope::cuda::check_cuda((call), #call, __FILE__, __LINE__)
// After each launch: catches bad launch shapes at once instead of at the next synchronisation.
#define LS_LAUNCH_CHECK() ::logitscope::cuda::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

#ifdef __CUDACC__
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Dot product of 8 bf16 weights (one 16-byte load) with 8 bf16 activations.
__device__ __forceinline__ float dot8(const uint4& w, const uint4& x) {
  const __nv_bfloat162* w2 = reinterpret_cast<const __nv_bfloat162*>(&w);
  const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&x);
  float acc = 0.0f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 a = __bfloat1622float2(w2[i]);
    float2 b = __bfloat1622float2(x2[i]);
    acc = fmaf(a.x, b.x, acc);
    acc = fmaf(a.y, b.y, acc);
  }
  return acc;
}
__device__ __forceinline__ float silu(float v) { return v / (1.0f + __expf(-v)); }
// Rounds through bf16, as the reference does where the checkpoint dtype is bf16.
__device__ __forceinline__ float round_bf16(float v) { return __bfloat162float(__float2bfloat16(v)); }
#endif

}  // namespace logitscope::cuda
