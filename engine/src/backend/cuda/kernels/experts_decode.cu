// SPDX-License-Identifier: GPL-3.0-or-later
// Decode (batch 1) expert products of one MoE layer without leaving the device: the k routed experts
// (ids and weights written by router_topk) and the shared expert, two launches per layer.
//
// experts_up_decode: h[s, :width_s] = bf16(relu(up_s . x + b)^2) for the k routed slots and the
//   shared expert (slot k). Launch: the rows of all slots are flattened into one grid; 4 warps per
//   block, each warp 2 consecutive rows of one slot (dot.cuh: R x U = 4 16-byte loads in flight per lane).
//   At the 30B-A3B shape: 6 x 1856 + 3712 = 14848 rows of 2688 -> 1856 blocks, one wave.
// experts_down_decode: y[r] += sum_s w_s (down_s[r] . h_s + b_s) + (shared_down[r] . h_k + b).
//   Launch: one block per 8 output rows with one warp per routed slot and two warps for the shared
//   expert (its width is twice a routed expert's at the real shape: each takes half the columns), so
//   every (row, expert) product runs in parallel instead of 7 in series per warp (v1). The warps'
//   partial sums meet in shared memory and one thread adds them in a fixed order (deterministic).
//   Block = 32 (k + 2) threads (k <= 30).
// At decode the backend runs the shared expert on a side stream instead (cuda_backend.cpp, moe();
// its output comes in as `extra`); the shared slot here serves LOGITSCOPE_SHARED_STREAM=0.
// Bytes: the k routed experts' up and down matrices + the shared expert's, each read once, + x, h.
// Checked by: tests/gpu (check: decode logits and routing vs the CPU reference, every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/dot.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kUpWarps = 4;
#ifndef LOGITSCOPE_UP_ROWS
#define LOGITSCOPE_UP_ROWS 2
#endif
#ifndef LOGITSCOPE_DOWN_ROWS
#define LOGITSCOPE_DOWN_ROWS 8
#endif
constexpr int kUpRows = LOGITSCOPE_UP_ROWS;      // rows per warp
constexpr int kDownRows = LOGITSCOPE_DOWN_ROWS;  // output rows per block (2 / 4 / 8 swept, v3:
                                                 // 8 with dot.cuh's U = 2 gave the best experts_down)

__global__ void __launch_bounds__(kUpWarps * 32)
experts_up_kernel(ExpertsDecode e, const int* __restrict__ ids, int k, int blocks_routed,
                  const bf16* __restrict__ x, bf16* __restrict__ h, int hstride, bool vec) {
  pdl_enter();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int s, blk;
  if (int(blockIdx.x) < k * blocks_routed) {
    s = blockIdx.x / blocks_routed;
    blk = blockIdx.x % blocks_routed;
  } else {
    s = k;
    blk = blockIdx.x - k * blocks_routed;
  }
  const bf16* W;
  const float* b;
  int width;
  if (s < k) {
    const int id = ids[s];
    W = e.up + std::int64_t(id) * e.width * e.in;
    b = e.up_b ? e.up_b + std::int64_t(id) * e.width : nullptr;
    width = e.width;
  } else {
    W = e.shared_up;
    b = e.shared_up_b;
    width = e.shared_width;
  }
  const int row0 = (blk * kUpWarps + warp) * kUpRows;
  if (row0 >= width) return;
  const int valid = width - row0 < kUpRows ? width - row0 : kUpRows;
  float acc[kUpRows];
#pragma unroll
  for (int r = 0; r < kUpRows; ++r) acc[r] = 0.0f;
  warp_dot_rows<kUpRows>(W + std::int64_t(row0) * e.in, e.in, valid, x, e.in, vec, lane, acc);
#pragma unroll
  for (int r = 0; r < kUpRows; ++r) acc[r] = warp_sum(acc[r]);
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kUpRows; ++r) {
      if (r >= valid) break;
      float v = acc[r];
      if (b) v += b[row0 + r];
      v = fmaxf(v, 0.0f);
      h[std::int64_t(s) * hstride + row0 + r] = __float2bfloat16(v * v);
    }
  }
}

__global__ void experts_down_kernel(ExpertsDecode e, const int* __restrict__ ids, const float* __restrict__ wts,
                                    int k, const bf16* __restrict__ h, int hstride, const float* __restrict__ extra,
                                    float* __restrict__ y, bool vec) {
  pdl_enter();
  __shared__ float part[32][kDownRows];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const int row0 = blockIdx.x * kDownRows;
  const int valid = e.out - row0 < kDownRows ? e.out - row0 : kDownRows;
  const bf16* W;
  const bf16* hv;
  std::int64_t stride;
  int n;
  float w = 1.0f;
  if (warp < k) {
    const int id = ids[warp];
    w = wts[warp];
    W = e.down + (std::int64_t(id) * e.out + row0) * e.width;
    stride = e.width;
    hv = h + std::int64_t(warp) * hstride;
    n = e.width;
  } else {
    // Shared expert, split into two column halves (the first a multiple of 8 columns).
    const int half = warp - k;
    const int first = (e.shared_width / 16) * 8;
    const int c0 = half ? first : 0;
    W = e.shared_down + std::int64_t(row0) * e.shared_width + c0;
    stride = e.shared_width;
    hv = h + std::int64_t(k) * hstride + c0;
    n = half ? e.shared_width - first : first;
  }
  float acc[kDownRows];
#pragma unroll
  for (int r = 0; r < kDownRows; ++r) acc[r] = 0.0f;
  warp_dot_rows<kDownRows>(W, stride, valid, hv, n, vec, lane, acc);
#pragma unroll
  for (int r = 0; r < kDownRows; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == 0) part[warp][r] = w * v;
  }
  __syncthreads();
  if (threadIdx.x < valid) {
    const int r = threadIdx.x, row = row0 + r;
    float sum = 0.0f, bias = 0.0f;
    for (int s = 0; s < warps; ++s) sum += part[s][r];
    if (e.down_b)
      for (int s = 0; s < k; ++s) bias += wts[s] * e.down_b[std::int64_t(ids[s]) * e.out + row];
    if (e.shared_down && e.shared_down_b) bias += e.shared_down_b[row];
    y[row] += sum + bias + (extra ? extra[row] : 0.0f);
  }
}

}  // namespace

void experts_up_decode(const ExpertsDecode& e, const int* ids, int k, const bf16* x, bf16* h, int hstride,
                       cudaStream_t stream) {
  const int per_block = kUpWarps * kUpRows;
  const int blocks_routed = (e.width + per_block - 1) / per_block;
  const int blocks_shared = e.shared_up ? (e.shared_width + per_block - 1) / per_block : 0;
  const bool vec = e.in % 8 == 0 && (reinterpret_cast<std::uintptr_t>(x) % 16) == 0;
  launch_kernel(experts_up_kernel, k * blocks_routed + blocks_shared, kUpWarps * 32, 0, stream, e, ids, k, blocks_routed, x,
                h, hstride, vec);
  LS_LAUNCH_CHECK();
}

void experts_down_decode(const ExpertsDecode& e, const int* ids, const float* weights, int k, const bf16* h,
                         int hstride, const float* extra, float* y, cudaStream_t stream) {
  if (k + 2 > 32) throw Error("num_experts_per_tok " + std::to_string(k) + " is too large for the decode experts (30 max)");
  const bool vec = e.width % 8 == 0 && hstride % 8 == 0 && (!e.shared_down || e.shared_width % 8 == 0);
  const int warps = k + (e.shared_down ? 2 : 0);
  launch_kernel(experts_down_kernel, (e.out + kDownRows - 1) / kDownRows, 32 * warps, 0, stream, e, ids, weights, k, h,
                hstride, extra, y, vec);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
