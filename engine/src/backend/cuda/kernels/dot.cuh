// SPDX-License-Identifier: GPL-3.0-or-later
// Warp-level dot products of R bf16 weight rows with one bf16 vector, the inner loop of every decode
// matrix-vector kernel (gemv.cu, experts_decode.cu). Each lane reads 16-byte chunks (8 bf16) of each
// row; U steps of R rows are issued before the first use, so R * U independent 16-byte loads per lane
// are in flight (R = 2, U = 2: 4 loads, 2 KiB per warp), the tail pass too (guarded loads).
// U = 2 measured best on the H100 (v3 sweep, decode at the 30B-A3B shape: U = 1 / 2 / 4 / 8
// gave 3.545 / 3.459 / 3.554 / 3.689 ms per token): fewer registers, more resident warps, the same
// bytes in flight per SM. The build-time switches exist for such sweeps. Results
// are lane partials: the caller reduces them across the warp (warp_sum) in a fixed order, so the
// result is deterministic.
// Checked by: tests/gpu (check: decode logits vs the CPU reference, every fixture, and its bit-for-bit
// repeatability pass).
#pragma once

#include "backend/cuda/common.cuh"

namespace logitscope::cuda {

// acc[r] += lane partial of W[r, 0:n] . x[0:n] for r < R; rows r >= valid are skipped (they read
// row 0 again instead, so the loads stay unconditional). `vec`: n % 8 == 0 and W, stride, x 16-byte
// aligned; otherwise a scalar path (still coalesced across the warp).
#ifndef LOGITSCOPE_DOT_U
#define LOGITSCOPE_DOT_U 2
#endif
template <int R, int U = LOGITSCOPE_DOT_U>
__device__ __forceinline__ void warp_dot_rows(const bf16* __restrict__ W, std::int64_t stride, int valid,
                                              const bf16* __restrict__ x, int n, bool vec, int lane,
                                              float (&acc)[R]) {
  if (vec) {
    const uint4* w4[R];
#pragma unroll
    for (int r = 0; r < R; ++r) w4[r] = reinterpret_cast<const uint4*>(W + (r < valid ? r : 0) * stride);
    const uint4* x4 = reinterpret_cast<const uint4*>(x);
    const int chunks = n / 8;
    // Every pass issues U x R loads (out-of-range chunks are skipped, not serialised), so a row of
    // 10.5 chunks per lane takes 6 passes of 4 loads (U = 2) instead of serialising the tail.
    for (int i = lane; i < chunks; i += 32 * U) {
      uint4 w[U][R];
      uint4 xv[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int c = i + 32 * u;
#pragma unroll
        for (int r = 0; r < R; ++r) w[u][r] = c < chunks ? __ldg(w4[r] + c) : make_uint4(0, 0, 0, 0);
        xv[u] = c < chunks ? x4[c] : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r] += dot8(w[u][r], xv[u]);
    }
  } else {
    for (int i = lane; i < n; i += 32) {
      const float xv = __bfloat162float(x[i]);
#pragma unroll
      for (int r = 0; r < R; ++r)
        if (r < valid) acc[r] = fmaf(__bfloat162float(W[r * stride + i]), xv, acc[r]);
    }
  }
}

// Split-K inside a block: W warps each hold lane partials of the same R rows; their warp sums meet in
// `part` and thread r < R gets row r's total, added in warp order (deterministic). Every thread of the
// block must call it (it has a barrier).
template <int W, int R>
__device__ __forceinline__ float block_rows_sum(const float (&acc)[R], float (&part)[W][R], int warp, int lane) {
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == 0) part[warp][r] = v;
  }
  __syncthreads();
  float v = 0.0f;
  if (threadIdx.x < R) {
#pragma unroll
    for (int w = 0; w < W; ++w) v += part[w][threadIdx.x];
  }
  return v;
}

}  // namespace logitscope::cuda
