// SPDX-License-Identifier: GPL-3.0-or-later
// Global -> shared copies that do not stall the issuing thread (cp.async, compute capability 8.0+),
// for kernels that stage the next tile while computing on the current one (mamba_scan.cu's chunked
// scan, experts_grouped.cu). A copy with valid = false writes zeros and reads nothing (the source
// pointer must still be a mapped address). Before 8.0 the same calls are ordinary loads and stores,
// and the commit/wait calls are no-ops: results are the same, only the overlap is lost.
#pragma once

#include <cuda_runtime.h>

namespace logitscope::cuda {

// 16 bytes; smem and gmem 16-byte aligned.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(s), "l"(gmem), "r"(valid ? 16 : 0) : "memory");
#else
  *static_cast<uint4*>(smem) = valid ? *static_cast<const uint4*>(gmem) : make_uint4(0, 0, 0, 0);
#endif
}

// 4 bytes; smem and gmem 4-byte aligned.
__device__ __forceinline__ void cp_async4(void* smem, const void* gmem, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(s), "l"(gmem), "r"(valid ? 4 : 0) : "memory");
#else
  *static_cast<unsigned*>(smem) = valid ? *static_cast<const unsigned*>(gmem) : 0u;
#endif
}

// Closes the group of copies issued since the last commit.
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

// Waits until at most `Pending` committed groups of this thread are still in flight. The other
// threads' copies are visible only after a __syncthreads() that follows.
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
#endif
}

}  // namespace logitscope::cuda
