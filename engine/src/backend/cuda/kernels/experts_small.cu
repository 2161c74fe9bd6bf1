// SPDX-License-Identifier: GPL-3.0-or-later
// Routed experts of a short prompt chunk (2..kSmallExpertTokens tokens) without the host: the tokens'
// k assignments are grouped by expert on the device, then each used expert's matrices are read once
// and applied to every token routed to it (a "grouped GEMV"), and moe_combine adds the weighted rows.
//
// Why: the prompt path of v1-v3 copied the routing to the host after every MoE layer, waited for it,
// and made two cuBLAS calls per used expert (up to 256 per layer): a 28-token prompt spent most of its
// 36-52 ms time to first token on those syncs and launches (H100). Reading every used expert once is
// the floor either way: at 28 tokens x 6 routed experts ~3/4 of the 128 experts are used.
//
// moe_group_small: one block. counts[e] = assignments routed to e; offsets = exclusive prefix sum;
//   perm[pos] = token of the assignment at grouped position pos, slot[a] = grouped position of
//   assignment a (t k + j), in assignment order within an expert (deterministic).
// experts_up_small: grid (E x row tiles), 4 warps x 2 rows; a block of an unused expert returns at
//   once. Each warp dots its 2 rows with every routed token's x (the rows stay in L1 after the first
//   token): h[pos, r] = bf16(relu(up_e[r] . x[perm[pos]] + b_e[r])^2).
// experts_down_small: the same over down_e: out[pos, r] = down_e[r] . h[pos] (fp32, unweighted).
// Bytes: each used expert's up and down matrices once, + x, h and out rows (L2).
// Checked by: tests/gpu (check: prefill logits of every fixture's prompt vs the CPU reference).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/dot.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRows = 2;         // rows per warp
constexpr int kMaxExperts = 512;

__global__ void moe_group_small_kernel(const int* __restrict__ ids, int n, int k, int E, int* __restrict__ counts,
                                       int* __restrict__ offsets, int* __restrict__ perm, int* __restrict__ slot) {
  pdl_enter();
  __shared__ int cnt[kMaxExperts];
  __shared__ int start[kMaxExperts];
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    int c = 0;
    for (int a = 0; a < n; ++a) c += ids[a] == e;
    cnt[e] = c;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int s = 0;
    for (int e = 0; e < E; ++e) {
      start[e] = s;
      s += cnt[e];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    counts[e] = cnt[e];
    offsets[e] = start[e];
    int pos = start[e];
    for (int a = 0; a < n; ++a) {
      if (ids[a] != e) continue;
      perm[pos] = a / k;
      slot[a] = pos;
      ++pos;
    }
  }
}

__global__ void __launch_bounds__(kWarps * 32)
experts_up_small_kernel(ExpertsDecode e, const int* __restrict__ counts, const int* __restrict__ offsets,
                        const int* __restrict__ perm, const bf16* __restrict__ x, bf16* __restrict__ h, int tiles,
                        bool vec) {
  pdl_enter();
  const int ex = blockIdx.x / tiles, tile = blockIdx.x % tiles;
  const int cnt = counts[ex];
  if (cnt == 0) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (tile * kWarps + warp) * kRows;
  if (row0 >= e.width) return;
  const int valid = e.width - row0 < kRows ? e.width - row0 : kRows;
  const int off = offsets[ex];
  const bf16* W = e.up + (std::int64_t(ex) * e.width + row0) * e.in;
  const float* b = e.up_b ? e.up_b + std::int64_t(ex) * e.width + row0 : nullptr;
  for (int j = 0; j < cnt; ++j) {
    const int pos = off + j;
    float acc[kRows] = {0.0f, 0.0f};
    warp_dot_rows<kRows>(W, e.in, valid, x + std::int64_t(perm[pos]) * e.in, e.in, vec, lane, acc);
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[r] = warp_sum(acc[r]);
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (r >= valid) break;
        float v = acc[r] + (b ? b[r] : 0.0f);
        v = fmaxf(v, 0.0f);
        h[std::int64_t(pos) * e.width + row0 + r] = __float2bfloat16(v * v);
      }
    }
  }
}

__global__ void __launch_bounds__(kWarps * 32)
experts_down_small_kernel(ExpertsDecode e, const int* __restrict__ counts, const int* __restrict__ offsets,
                          const bf16* __restrict__ h, float* __restrict__ out, int tiles, bool vec) {
  pdl_enter();
  const int ex = blockIdx.x / tiles, tile = blockIdx.x % tiles;
  const int cnt = counts[ex];
  if (cnt == 0) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (tile * kWarps + warp) * kRows;
  if (row0 >= e.out) return;
  const int valid = e.out - row0 < kRows ? e.out - row0 : kRows;
  const int off = offsets[ex];
  const bf16* W = e.down + (std::int64_t(ex) * e.out + row0) * e.width;
  for (int j = 0; j < cnt; ++j) {
    const int pos = off + j;
    float acc[kRows] = {0.0f, 0.0f};
    warp_dot_rows<kRows>(W, e.width, valid, h + std::int64_t(pos) * e.width, e.width, vec, lane, acc);
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[r] = warp_sum(acc[r]);
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < kRows; ++r)
        if (r < valid) out[std::int64_t(pos) * e.out + row0 + r] = acc[r];
    }
  }
}

}  // namespace

void experts_small(const ExpertsDecode& e, int E, const int* ids, int T, int k, const bf16* x, int* counts,
                   int* offsets, int* perm, int* slot, bf16* h, float* out, cudaStream_t stream) {
  if (E > kMaxExperts) throw Error("n_routed_experts " + std::to_string(E) + " is not supported (at most 512)");
  launch_kernel(moe_group_small_kernel, 1, 256, 0, stream, ids, T * k, k, E, counts, offsets, perm, slot);
  LS_LAUNCH_CHECK();
  const int per_block = kWarps * kRows;
  const int up_tiles = (e.width + per_block - 1) / per_block;
  const bool up_vec = e.in % 8 == 0 && reinterpret_cast<std::uintptr_t>(x) % 16 == 0 &&
                      reinterpret_cast<std::uintptr_t>(e.up) % 16 == 0;
  launch_kernel(experts_up_small_kernel, E * up_tiles, kWarps * 32, 0, stream, e, counts, offsets, perm, x, h, up_tiles,
                up_vec);
  LS_LAUNCH_CHECK();
  const int down_tiles = (e.out + per_block - 1) / per_block;
  const bool down_vec = e.width % 8 == 0 && reinterpret_cast<std::uintptr_t>(h) % 16 == 0 &&
                        reinterpret_cast<std::uintptr_t>(e.down) % 16 == 0;
  launch_kernel(experts_down_small_kernel, E * down_tiles, kWarps * 32, 0, stream, e, counts, offsets, h, out,
                down_tiles, down_vec);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
