// SPDX-License-Identifier: GPL-3.0-or-later
// The distribution after the last token, summarised on the device so that only a few numbers cross
// to the host (spec: choose() copies back k entries, never the vocabulary).
// logits_summary, two launches:
//   stage 1, one block of 1024 threads per chunk of 2048 (4096 past V = 131072) logits: the chunk's
//     softmax partials (max, sum exp(l - max), sum exp(l - max)(l - max)) and its best 64 by a bitonic
//     sort in shared memory (value desc, id asc on ties);
//   stage 2, one block: merges the partials in chunk order into {max, S, W} (entropy = log S - W / S)
//     and keeps the best 64 of the chunks' candidates (only those at or above the best chunk's 64th
//     value are sorted). v2 ran the statistics as a third, single-block kernel over the whole
//     vocabulary (~70 us per token on an H100); they now ride on stage 1's pass.
//   Bytes: V * 4 once.
// Checked by: tests/gpu (check compares choose() top-k, entropy and greedy ids with the CPU backend).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

__device__ __forceinline__ bool better(float va, int ia, float vb, int ib) {
  return va > vb || (va == vb && ia < ib);
}

// Sorts n (a power of two) entries descending; all threads of the block take part.
__device__ void bitonic_sort_desc(float* v, int* id, int n) {
  for (int size = 2; size <= n; size <<= 1) {
    for (int stride = size / 2; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const int j = i ^ stride;
        if (j > i) {
          const bool desc = (i & size) == 0;
          const bool j_better = better(v[j], id[j], v[i], id[i]);
          if (desc == j_better) {
            const float tv = v[i]; v[i] = v[j]; v[j] = tv;
            const int ti = id[i]; id[i] = id[j]; id[j] = ti;
          }
        }
      }
      __syncthreads();
    }
  }
}

// One block per chunk: the chunk's softmax partials {max, sum exp(l - max), sum exp(l - max)(l - max)}
// at partial[4 b ..], then its best kCandidates (value desc, id asc) at out_ids/out_vals[64 b ..].
__global__ void summary_stage1(const float* __restrict__ logits, int V, int chunk, int* __restrict__ out_ids,
                               float* __restrict__ out_vals, float* __restrict__ partial) {
  pdl_enter();
  extern __shared__ unsigned char smem[];
  __shared__ float red[32], red2[32];
  float* v = reinterpret_cast<float*>(smem);          // [chunk]
  int* id = reinterpret_cast<int*>(v + chunk);        // [chunk]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const int base = blockIdx.x * chunk;
  float m = -INFINITY;
  for (int i = threadIdx.x; i < chunk; i += blockDim.x) {
    const int g = base + i;
    v[i] = g < V ? logits[g] : -INFINITY;
    id[i] = g < V ? g : 0x7fffffff;
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
    if (base + i >= V) break;
    if (v[i] == -INFINITY) continue;   // e = 0; e * d would be 0 * -inf
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
  bitonic_sort_desc(v, id, chunk);
  for (int i = threadIdx.x; i < kCandidates; i += blockDim.x) {
    out_vals[blockIdx.x * kCandidates + i] = v[i];
    out_ids[blockIdx.x * kCandidates + i] = id[i];
  }
}

// One block: merges the chunks' softmax partials in chunk order (deterministic) into stats, and their
// candidate lists into the best kCandidates. Only entries >= the best of the chunks' 64th values can
// be among the global best 64 (that chunk alone has 64 entries at or above it), so usually a few
// dozen survive and are sorted instead of blocks x 64.
__global__ void summary_stage2(const int* __restrict__ in_ids, const float* __restrict__ in_vals,
                               const float* __restrict__ partial, int blocks, int* __restrict__ ids,
                               float* __restrict__ vals, float* __restrict__ stats, int n_pow2) {
  pdl_enter();
  extern __shared__ unsigned char smem[];
  const int n = blocks * kCandidates;
  float* v = reinterpret_cast<float*>(smem);   // [n_pow2]: 64 x a power of two, >= n
  int* id = reinterpret_cast<int*>(v + n_pow2);  // [n_pow2]
  __shared__ float threshold;
  __shared__ int count;
  __shared__ float red_t[32], red_m[32], red_s[32], red_w[32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  // Thread b < blocks holds chunk b's partials and 64th candidate; the merges are block reductions
  // in a fixed thread order (deterministic), not a serial loop over the chunks.
  const int b = threadIdx.x;
  const float t_b = b < blocks ? in_vals[b * kCandidates + kCandidates - 1] : -INFINITY;
  const float m_b = b < blocks ? partial[4 * b] : -INFINITY;
  const float S_b = b < blocks ? partial[4 * b + 1] : 0.0f;
  const float W_b = b < blocks ? partial[4 * b + 2] : 0.0f;
  float v1 = warp_max(t_b), v2 = warp_max(m_b);
  if (lane == 0) {
    red_t[warp] = v1;
    red_m[warp] = v2;
  }
  __syncthreads();
  float t = -INFINITY, M = -INFINITY;
  for (int w = 0; w < warps; ++w) {
    t = fmaxf(t, red_t[w]);
    M = fmaxf(M, red_m[w]);
  }
  // sum e^(l-M)(l-M) over chunk b = e^(mb-M) sum e^(l-mb)((l-mb) + (mb-M)); a chunk of -inf adds 0.
  const float scale = S_b > 0.0f ? expf(m_b - M) : 0.0f;
  v1 = warp_sum(S_b > 0.0f ? S_b * scale : 0.0f);
  v2 = warp_sum(S_b > 0.0f ? scale * (W_b + S_b * (m_b - M)) : 0.0f);
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
    threshold = t;
    count = 0;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const float x = in_vals[i];
    if (x >= threshold) {
      const int at = atomicAdd(&count, 1);   // order is irrelevant: the sort below is total (ids unique)
      v[at] = x;
      id[at] = in_ids[i];
    }
  }
  __syncthreads();
  int m = count;
  int p = kCandidates;
  while (p < m) p <<= 1;
  for (int i = m + threadIdx.x; i < p; i += blockDim.x) {
    v[i] = -INFINITY;
    id[i] = 0x7fffffff;
  }
  __syncthreads();
  bitonic_sort_desc(v, id, p);
  for (int i = threadIdx.x; i < kCandidates; i += blockDim.x) {
    vals[i] = v[i];
    ids[i] = id[i];
  }
}

int chunk_for(int V) { return V <= 64 * 2048 ? 2048 : 4096; }
int blocks_for(int V) { return (V + chunk_for(V) - 1) / chunk_for(V); }

}  // namespace

int summary_scratch_entries(int V) { return blocks_for(V) * (kCandidates + 4); }

void logits_summary(const float* logits, int V, int* scratch_ids, float* scratch_vals, int* ids, float* vals,
                    float* stats, cudaStream_t stream) {
  if (V > 64 * 4096) throw Error("vocab_size " + std::to_string(V) + " is too large for the top-k kernel (262144 max)");
  const int chunk = chunk_for(V);
  const int blocks = blocks_for(V);  // <= 64 <= stage 2's threads
  float* partial = scratch_vals + blocks * kCandidates;  // [blocks, 4]
  launch_kernel(summary_stage1, blocks, 1024, chunk * 8, stream, logits, V, chunk, scratch_ids, scratch_vals, partial);
  LS_LAUNCH_CHECK();
  int n_pow2 = kCandidates;
  while (n_pow2 < blocks * kCandidates) n_pow2 <<= 1;
  // Shared memory for the worst case (every entry survives): values and ids of n_pow2 entries.
  launch_kernel(summary_stage2, 1, 1024, std::size_t(n_pow2) * 8, stream, scratch_ids, scratch_vals, partial, blocks,
                ids, vals, stats, n_pow2);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
