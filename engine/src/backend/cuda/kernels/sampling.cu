// SPDX-License-Identifier: GPL-3.0-or-later
// The distribution after the last token, summarised on the device so that only a few numbers cross
// to the host (spec: choose() copies back k entries, never the vocabulary).
// logits_summary, two launches:
//   stage 1, one block per chunk of 1024 logits (2048 / 4096 past V = 128 Ki / 256 Ki), 32 threads
//     per 64 logits: the chunk's softmax partials (max, sum exp(l - max), sum exp(l - max)(l - max))
//     and its best 64: each warp sorts 64 logits in registers (bitonic network over shuffles, two per
//     lane), merges them into its running best 64, and the warps' lists meet in a tree of merges;
//   stage 2, one block: merges the partials in chunk order into {max, S, W} (entropy = log S - W / S)
//     and the chunks' lists by the same warp merges into the best 64.
//   A merge of two sorted lists of 64 keeps max(a[i], b[63 - i]) (a bitonic sequence holding the best
//   64 of both) and sorts it in 6 shuffle steps. Order: value desc, id asc on ties (a total order, so
//   the result does not depend on scheduling). v4 sorted each 2048-logit chunk and then every
//   surviving candidate with block-wide bitonic sorts in shared memory: ~110 us per token on an
//   H200 (kernel timeline), against a few us for the warp merges.
//   Bytes: V * 4 once.
// Checked by: tests/gpu (check compares choose() top-k, entropy and greedy ids with the CPU backend).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

static_assert(kCandidates == 64, "the warp lists hold two entries per lane");
constexpr int kNoId = 0x7fffffff;

__device__ __forceinline__ bool better(float va, int ia, float vb, int ib) {
  return va > vb || (va == vb && ia < ib);
}

// A warp's list of 64 entries: entry e = lane + 32 r is (v[r], id[r]) of lane `lane`.
struct WarpList {
  float v[2];
  int id[2];
};

// One compare-exchange step of a bitonic network over the 64 entries: entry e meets e ^ stride and
// the pair is ordered descending when `desc_of(e)`, ascending otherwise.
template <typename Desc>
__device__ __forceinline__ void exchange_step(WarpList& l, int stride, Desc desc_of) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int e = lane + 32 * r;
    const bool desc = desc_of(e);
    if (stride == 32) {  // within the lane: r = 0 meets r = 1 (only once, at r = 0)
      if (r == 0) {
        const bool swap = desc == better(l.v[1], l.id[1], l.v[0], l.id[0]);
        if (swap) {
          const float tv = l.v[0]; l.v[0] = l.v[1]; l.v[1] = tv;
          const int ti = l.id[0]; l.id[0] = l.id[1]; l.id[1] = ti;
        }
      }
    } else {
      const float ov = __shfl_xor_sync(0xffffffffu, l.v[r], stride);
      const int oi = __shfl_xor_sync(0xffffffffu, l.id[r], stride);
      const bool lower = (e & stride) == 0;
      // The lower entry of a descending pair keeps the better one; the upper keeps the worse.
      if ((lower == desc) == better(ov, oi, l.v[r], l.id[r])) {
        l.v[r] = ov;
        l.id[r] = oi;
      }
    }
  }
}

// Sorts the warp's 64 entries descending.
__device__ __forceinline__ void warp_sort64(WarpList& l) {
#pragma unroll
  for (int size = 2; size <= 64; size <<= 1)
#pragma unroll
    for (int stride = size / 2; stride > 0; stride >>= 1)
      exchange_step(l, stride, [size](int e) { return size == 64 || (e & size) == 0; });
}

// l and (ov, oi) (entry e of the other list is ov[e], oi[e]) sorted descending: l becomes the best
// 64 of both, sorted descending.
__device__ __forceinline__ void warp_merge64(WarpList& l, const float* ov, const int* oi) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int j = 63 - (lane + 32 * r);
    if (better(ov[j], oi[j], l.v[r], l.id[r])) {
      l.v[r] = ov[j];
      l.id[r] = oi[j];
    }
  }
#pragma unroll
  for (int stride = 32; stride > 0; stride >>= 1) exchange_step(l, stride, [](int) { return true; });
}

// The block's warps each hold a sorted list; returns (in warp 0) the best 64 of all of them, sorted.
// lv/li: shared [warps][64]. Every thread of the block calls it.
__device__ void block_merge_lists(WarpList& l, float (*lv)[64], int (*li)[64]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int step = 1; step < warps; step <<= 1) {
    if (warp % step == 0) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        lv[warp][lane + 32 * r] = l.v[r];
        li[warp][lane + 32 * r] = l.id[r];
      }
    }
    __syncthreads();
    if (warp % (2 * step) == 0 && warp + step < warps) warp_merge64(l, lv[warp + step], li[warp + step]);
    __syncthreads();
  }
}

// One block per chunk: the chunk's softmax partials {max, sum exp(l - max), sum exp(l - max)(l - max)}
// at partial[4 b ..], then its best kCandidates (value desc, id asc) at out_ids/out_vals[64 b ..].
// Block: chunk / 2 threads (at most 1024); each warp takes `per_warp` consecutive logits, 64 at a time.
__global__ void __launch_bounds__(1024) summary_stage1(const float* __restrict__ logits, int V, int chunk,
                                                       int* __restrict__ out_ids, float* __restrict__ out_vals,
                                                       float* __restrict__ partial) {
  pdl_enter();
  extern __shared__ unsigned char smem[];
  __shared__ float red[32], red2[32];
  __shared__ float lv[32][64];
  __shared__ int li[32][64];
  float* v = reinterpret_cast<float*>(smem);          // [chunk]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const int base = blockIdx.x * chunk;
  float m = -INFINITY;
  for (int i = threadIdx.x; i < chunk; i += blockDim.x) {
    const int g = base + i;
    v[i] = g < V ? logits[g] : -INFINITY;
    m = fmaxf(m, v[i]);
  }
  m = warp_max(m);
  if (lane == 0) red[warp] = m;
  __syncthreads();
  m = -INFINITY;
  for (int w = 0; w < warps; ++w) m = fmaxf(m, red[w]);
  __syncthreads();
  float sum = 0.0f, wsum = 0.0f;
  for (int i = threadIdx.x; i < chunk; i += blockDim.x) {
    if (v[i] == -INFINITY) continue;   // e = 0; e * d would be 0 * -inf (also the padding past V)
    const float d = v[i] - m;
    const float e = expf(d);
    sum += e;
    wsum += e * d;
  }
  sum = warp_sum(sum);
  wsum = warp_sum(wsum);
  if (lane == 0) {
    red[warp] = sum;
    red2[warp] = wsum;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float S = 0.0f, W = 0.0f;
    for (int w = 0; w < warps; ++w) {
      S += red[w];
      W += red2[w];
    }
    partial[4 * blockIdx.x + 0] = m;
    partial[4 * blockIdx.x + 1] = S;
    partial[4 * blockIdx.x + 2] = W;
  }
  // Each warp: its slice in groups of 64, sorted and merged into the running best 64.
  const int per_warp = chunk / warps;
  WarpList best;
  for (int g0 = 0; g0 < per_warp; g0 += 64) {
    WarpList l;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int i = warp * per_warp + g0 + lane + 32 * r;
      l.v[r] = v[i];
      l.id[r] = base + i < V ? base + i : kNoId;
    }
    warp_sort64(l);
    if (g0 == 0) {
      best = l;
    } else {
      // Pass the group through shared memory in warp order: entry e at [e].
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        lv[warp][lane + 32 * r] = l.v[r];
        li[warp][lane + 32 * r] = l.id[r];
      }
      __syncwarp();
      warp_merge64(best, lv[warp], li[warp]);
      __syncwarp();
    }
  }
  __syncthreads();
  block_merge_lists(best, lv, li);
  if (warp == 0) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      out_vals[blockIdx.x * kCandidates + lane + 32 * r] = best.v[r];
      out_ids[blockIdx.x * kCandidates + lane + 32 * r] = best.id[r];
    }
  }
}

// One block of 1024 threads: merges the chunks' softmax partials in chunk order (deterministic) into
// stats, and their sorted lists into the best kCandidates: warp w merges lists w, w + 32, ... in turn,
// then the warps' lists meet in a tree.
__global__ void __launch_bounds__(1024) summary_stage2(const int* __restrict__ in_ids, const float* __restrict__ in_vals,
                                                       const float* __restrict__ partial, int blocks, int* __restrict__ ids,
                                                       float* __restrict__ vals, float* __restrict__ stats) {
  pdl_enter();
  __shared__ float red_m[32], red_s[32], red_w[32];
  __shared__ float lv[32][64];
  __shared__ int li[32][64];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  // Thread b < blocks holds chunk b's partials; the merges are block reductions in a fixed thread
  // order (deterministic), not a serial loop over the chunks. Threads b, b + 1024, ... past 1024
  // chunks do not occur (blocks <= 128).
  const int b = threadIdx.x;
  const float m_b = b < blocks ? partial[4 * b] : -INFINITY;
  const float S_b = b < blocks ? partial[4 * b + 1] : 0.0f;
  const float W_b = b < blocks ? partial[4 * b + 2] : 0.0f;
  float v1 = warp_max(m_b);
  if (lane == 0) red_m[warp] = v1;
  __syncthreads();
  float M = -INFINITY;
  for (int w = 0; w < warps; ++w) M = fmaxf(M, red_m[w]);
  // sum e^(l-M)(l-M) over chunk b = e^(mb-M) sum e^(l-mb)((l-mb) + (mb-M)); a chunk of -inf adds 0.
  const float scale = S_b > 0.0f ? expf(m_b - M) : 0.0f;
  v1 = warp_sum(S_b > 0.0f ? S_b * scale : 0.0f);
  const float v2 = warp_sum(S_b > 0.0f ? scale * (W_b + S_b * (m_b - M)) : 0.0f);
  if (lane == 0) {
    red_s[warp] = v1;
    red_w[warp] = v2;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float S = 0.0f, W = 0.0f;
    for (int w = 0; w < warps; ++w) {
      S += red_s[w];
      W += red_w[w];
    }
    stats[0] = M;
    stats[1] = S;
    stats[2] = W;
    stats[3] = 0.0f;
  }
  WarpList best;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    best.v[r] = -INFINITY;
    best.id[r] = kNoId;
  }
  for (int c = warp; c < blocks; c += warps) {
    if (c == warp) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        best.v[r] = in_vals[c * kCandidates + lane + 32 * r];
        best.id[r] = in_ids[c * kCandidates + lane + 32 * r];
      }
    } else {
      warp_merge64(best, in_vals + c * kCandidates, in_ids + c * kCandidates);
    }
  }
  __syncthreads();
  block_merge_lists(best, lv, li);
  if (warp == 0) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      vals[lane + 32 * r] = best.v[r];
      ids[lane + 32 * r] = best.id[r];
    }
  }
}

// Chunks of 1024 logits (128 blocks at V = 131072), larger past 128 chunks so stage 2 merges at most 128.
int chunk_for(int V) { return V <= 128 * 1024 ? 1024 : V <= 128 * 2048 ? 2048 : 4096; }
int blocks_for(int V) { return (V + chunk_for(V) - 1) / chunk_for(V); }

}  // namespace

int summary_scratch_entries(int V) { return blocks_for(V) * (kCandidates + 4); }

void logits_summary(const float* logits, int V, int* scratch_ids, float* scratch_vals, int* ids, float* vals,
                    float* stats, cudaStream_t stream) {
  if (V > 128 * 4096) throw Error("vocab_size " + std::to_string(V) + " is too large for the top-k kernel (524288 max)");
  const int chunk = chunk_for(V);
  const int blocks = blocks_for(V);  // <= 128
  float* partial = scratch_vals + blocks * kCandidates;  // [blocks, 4]
  const int threads = chunk / 2 < 1024 ? chunk / 2 : 1024;
  launch_kernel(summary_stage1, blocks, threads, std::size_t(chunk) * 4, stream, logits, V, chunk, scratch_ids,
                scratch_vals, partial);
  LS_LAUNCH_CHECK();
  launch_kernel(summary_stage2, 1, 1024, 0, stream, scratch_ids, scratch_vals, partial, blocks, ids, vals, stats);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
