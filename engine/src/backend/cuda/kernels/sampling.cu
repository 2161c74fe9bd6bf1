// SPDX-License-Identifier: GPL-3.0-or-later
// The distribution after the last token, summarised on the device so that only a few numbers cross
// to the host (spec: choose() copies back k entries, never the vocabulary).
// logits_stats: one block of 1024 threads; max, then sum exp(l - max) and sum exp(l - max)(l - max)
//   (entropy = log S - W / S). Bytes: 2 reads of V * 4.
// topk_candidates: stage 1, one block per chunk of 2048 (4096 past V = 131072) logits bitonic-sorts
//   the chunk in shared memory (value desc, id asc on ties) and keeps its best 64; stage 2, one block
//   sorts the chunks' candidates and keeps the best 64. Bytes: V * 4 once.
// Checked by: tests/gpu (check compares choose() top-k, entropy and greedy ids with the CPU backend).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"

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

__global__ void topk_stage1(const float* __restrict__ logits, int V, int chunk, int* __restrict__ out_ids,
                            float* __restrict__ out_vals) {
  extern __shared__ unsigned char smem[];
  float* v = reinterpret_cast<float*>(smem);          // [chunk]
  int* id = reinterpret_cast<int*>(v + chunk);        // [chunk]
  const int base = blockIdx.x * chunk;
  for (int i = threadIdx.x; i < chunk; i += blockDim.x) {
    const int g = base + i;
    v[i] = g < V ? logits[g] : -INFINITY;
    id[i] = g < V ? g : 0x7fffffff;
  }
  __syncthreads();
  bitonic_sort_desc(v, id, chunk);
  for (int i = threadIdx.x; i < kCandidates; i += blockDim.x) {
    out_vals[blockIdx.x * kCandidates + i] = v[i];
    out_ids[blockIdx.x * kCandidates + i] = id[i];
  }
}

__global__ void topk_stage2(const int* __restrict__ in_ids, const float* __restrict__ in_vals, int n, int n_pow2,
                            int* __restrict__ ids, float* __restrict__ vals) {
  extern __shared__ unsigned char smem[];
  float* v = reinterpret_cast<float*>(smem);
  int* id = reinterpret_cast<int*>(v + n_pow2);
  for (int i = threadIdx.x; i < n_pow2; i += blockDim.x) {
    v[i] = i < n ? in_vals[i] : -INFINITY;
    id[i] = i < n ? in_ids[i] : 0x7fffffff;
  }
  __syncthreads();
  bitonic_sort_desc(v, id, n_pow2);
  for (int i = threadIdx.x; i < kCandidates; i += blockDim.x) {
    vals[i] = v[i];
    ids[i] = id[i];
  }
}

__global__ void stats_kernel(const float* __restrict__ logits, int V, float* __restrict__ stats) {
  __shared__ float red[32];
  __shared__ float red2[32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  float m = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, logits[i]);
  m = warp_max(m);
  if (lane == 0) red[warp] = m;
  __syncthreads();
  m = -INFINITY;
  for (int w = 0; w < warps; ++w) m = fmaxf(m, red[w]);
  __syncthreads();
  float s = 0.0f, ws = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float d = logits[i] - m;
    const float e = expf(d);
    s += e;
    ws += e * d;
  }
  s = warp_sum(s);
  ws = warp_sum(ws);
  if (lane == 0) { red[warp] = s; red2[warp] = ws; }
  __syncthreads();
  if (threadIdx.x == 0) {
    float S = 0.0f, W = 0.0f;
    for (int w = 0; w < warps; ++w) { S += red[w]; W += red2[w]; }
    stats[0] = m;
    stats[1] = S;
    stats[2] = W;
    stats[3] = 0.0f;
  }
}

int chunk_for(int V) { return V <= 64 * 2048 ? 2048 : 4096; }

}  // namespace

void logits_stats(const float* logits, int V, float* stats, cudaStream_t stream) {
  stats_kernel<<<1, 1024, 0, stream>>>(logits, V, stats);
  LS_LAUNCH_CHECK();
}

int topk_scratch_entries(int V) {
  const int chunk = chunk_for(V);
  return ((V + chunk - 1) / chunk) * kCandidates;
}

void topk_candidates(const float* logits, int V, int* scratch_ids, float* scratch_vals, int* ids, float* vals,
                     cudaStream_t stream) {
  if (V > 64 * 4096) throw Error("vocab_size " + std::to_string(V) + " is too large for the top-k kernel (262144 max)");
  const int chunk = chunk_for(V);
  const int blocks = (V + chunk - 1) / chunk;
  topk_stage1<<<blocks, 1024, chunk * 8, stream>>>(logits, V, chunk, scratch_ids, scratch_vals);
  LS_LAUNCH_CHECK();
  const int n = blocks * kCandidates;
  int n_pow2 = 1;
  while (n_pow2 < n) n_pow2 <<= 1;
  topk_stage2<<<1, 1024, n_pow2 * 8, stream>>>(scratch_ids, scratch_vals, n, n_pow2, ids, vals);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
