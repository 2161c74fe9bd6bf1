// SPDX-License-Identifier: GPL-3.0-or-later
// Decode (one query token) grouped-query attention, split over the context ("flash decoding").
// History: v1 ran one block per query head over the whole context (220 us per layer at 1k on the
// H100); v2 split each head's context over 32 blocks, but every block re-read its KV head's rows
// (16 query heads per KV head at the 30B-A3B shape: 16x the cache bytes through L2) and walked one
// key at a time: 254 us per layer at 32k context, where the layer's K and V are 34 MB (132 GB/s).
// v3 (this file):
// attention_decode_split: grid (KV, splits), one block per (KV head, run of keys), a warp per 4
//   query heads of that KV head (ceil(G / 4) warps, G = H / KV). Each K/V row is read from memory by
//   one block (the warps after the first hit L1), each warp keeps 4 keys' rows in flight, and the
//   4 heads' scores are 4 independent warp reductions per key. Online softmax per head, in fp32.
//   splits = ceil(max_ctx / 32) within [64, kAttnMaxSplits = 512] (fixed per state, so one CUDA graph serves
//   every step; pos is read from device memory when p.pos_dev is set): each split covers
//   ceil((pos + 1) / splits) keys. Writes each head's unnormalised partial (max m, sum l, acc[hd]) to
//   part [H, kAttnMaxSplits, hd + 2]; an empty split writes m = -inf.
//   Where tensor cores can take the splits (G <= 16, hd <= 128, compute capability 8.0+),
//   attention_decode_mma.cu does, with the same splits and partials; this kernel is the fallback.
// attention_decode_combine: one block of 1024 threads per query head merges the splits' partials in
//   a fixed order (deterministic; see the kernel) and writes out [H hd] bf16.
// Bytes: K and V of the context once, 2 * n * hd * 2 per KV head, + the partials. Scale = hd^-0.5.
// Checked by: tests/gpu (check: token-by-token decode logits vs the CPU reference, every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kHeadsPerWarp = 4;
constexpr int kKeys = 4;          // keys whose rows a warp has in flight
constexpr int kKeysPerSplit = 32;  // splits = ceil(max_ctx / 32) within [kMinSplits, kAttnMaxSplits]
constexpr int kMinSplits = 64;     // short contexts still spread over 64 x KV blocks

int splits_for(int max_ctx) {
  const int s = (max_ctx + kKeysPerSplit - 1) / kKeysPerSplit;
  return s < kMinSplits ? kMinSplits : (s > kAttnMaxSplits ? kAttnMaxSplits : s);
}

// The tensor-core splits take 4 tiles of 64 keys each at long contexts (Q is staged once per block,
// and a 32k context is one wave of 256 blocks on an H100): ceil(max_ctx / 256) within [32, 512].
int splits_for_tensor_cores(int max_ctx) {
  const int s = (max_ctx + 255) / 256;
  return s < 32 ? 32 : (s > kAttnMaxSplits ? kAttnMaxSplits : s);
}

// out[i] = row[d0 + i] for i < DPL (0 past hd); one vector load when the entries are whole and aligned.
template <int DPL>
__device__ __forceinline__ void load_entries(const bf16* __restrict__ row, int d0, int hd, bool vec, float (&out)[DPL]) {
  if (vec && d0 + DPL <= hd) {
    if constexpr (DPL == 8) {
      const uint4 w = *reinterpret_cast<const uint4*>(row + d0);
      const bf16* b = reinterpret_cast<const bf16*>(&w);
#pragma unroll
      for (int i = 0; i < 8; ++i) out[i] = __bfloat162float(b[i]);
      return;
    } else if constexpr (DPL == 4) {
      const uint2 w = *reinterpret_cast<const uint2*>(row + d0);
      const bf16* b = reinterpret_cast<const bf16*>(&w);
#pragma unroll
      for (int i = 0; i < 4; ++i) out[i] = __bfloat162float(b[i]);
      return;
    } else if constexpr (DPL == 2) {
      const __nv_bfloat162 w = *reinterpret_cast<const __nv_bfloat162*>(row + d0);
      out[0] = __low2float(w);
      out[1] = __high2float(w);
      return;
    }
  }
#pragma unroll
  for (int i = 0; i < DPL; ++i) out[i] = d0 + i < hd ? __bfloat162float(row[d0 + i]) : 0.0f;
}

template <int DPL>  // head-dim entries per lane: hd <= 32 * DPL; lane owns [DPL lane, DPL lane + DPL)
__global__ void attention_decode_split(const float* __restrict__ qkv, AttnParams p, const bf16* __restrict__ kc,
                                       const bf16* __restrict__ vc, float* __restrict__ part, int splits) {
  pdl_enter();
  const int kvh = blockIdx.x, split = blockIdx.y;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int G = p.H / p.KV;
  const int h0 = kvh * G + warp * kHeadsPerWarp;
  const int nh = min(kHeadsPerWarp, G - warp * kHeadsPerWarp);  // heads of this warp
  if (nh <= 0) return;
  const int n = (p.pos_dev ? *p.pos_dev : p.pos0) + 1;
  const int chunk = (n + splits - 1) / splits;
  const int j0 = min(n, split * chunk), j1 = min(n, j0 + chunk);
  const float scale = rsqrtf(float(p.hd));
  const int d0 = DPL * lane;
  float q[kHeadsPerWarp][DPL], acc[kHeadsPerWarp][DPL], m[kHeadsPerWarp], l[kHeadsPerWarp];
#pragma unroll
  for (int g = 0; g < kHeadsPerWarp; ++g) {
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      q[g][i] = g < nh && d0 + i < p.hd ? qkv[(h0 + g) * p.hd + d0 + i] * scale : 0.0f;
      acc[g][i] = 0.0f;
    }
    m[g] = -INFINITY;
    l[g] = 0.0f;
  }
  const bool vec = p.hd % DPL == 0;  // rows then start on a DPL-entry boundary
  const bf16* kbase = kc + std::int64_t(kvh) * p.max_ctx * p.hd;
  const bf16* vbase = vc + std::int64_t(kvh) * p.max_ctx * p.hd;
  for (int j = j0; j < j1; j += kKeys) {
    float kv[kKeys][DPL], vv[kKeys][DPL];
#pragma unroll
    for (int u = 0; u < kKeys; ++u) {
      const std::int64_t row = j + u < j1 ? j + u : j;
      load_entries<DPL>(kbase + row * p.hd, d0, p.hd, vec, kv[u]);
      load_entries<DPL>(vbase + row * p.hd, d0, p.hd, vec, vv[u]);
    }
    float sc[kKeys][kHeadsPerWarp];
#pragma unroll
    for (int u = 0; u < kKeys; ++u)
#pragma unroll
      for (int g = 0; g < kHeadsPerWarp; ++g) {
        float t = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; ++i) t = fmaf(q[g][i], kv[u][i], t);
        sc[u][g] = t;
      }
    // All 16 reductions unconditionally (independent shuffle chains the scheduler interleaves);
    // the tail keys are masked after.
#pragma unroll
    for (int u = 0; u < kKeys; ++u)
#pragma unroll
      for (int g = 0; g < kHeadsPerWarp; ++g) sc[u][g] = warp_sum(sc[u][g]);
#pragma unroll
    for (int u = 0; u < kKeys; ++u)
#pragma unroll
      for (int g = 0; g < kHeadsPerWarp; ++g)
        if (j + u >= j1) sc[u][g] = -INFINITY;
#pragma unroll
    for (int g = 0; g < kHeadsPerWarp; ++g) {
      float m_new = m[g];
#pragma unroll
      for (int u = 0; u < kKeys; ++u) m_new = fmaxf(m_new, sc[u][g]);
      const float c = __expf(m[g] - m_new);  // m_new is finite: key j is always valid
      l[g] *= c;
#pragma unroll
      for (int i = 0; i < DPL; ++i) acc[g][i] *= c;
#pragma unroll
      for (int u = 0; u < kKeys; ++u) {
        const float e = __expf(sc[u][g] - m_new);  // 0 for the invalid tail keys
        l[g] += e;
#pragma unroll
        for (int i = 0; i < DPL; ++i) acc[g][i] = fmaf(e, vv[u][i], acc[g][i]);
      }
      m[g] = m_new;
    }
  }
#pragma unroll
  for (int g = 0; g < kHeadsPerWarp; ++g) {
    if (g >= nh) break;
    float* dst = part + (std::int64_t(h0 + g) * kAttnMaxSplits + split) * (p.hd + 2);
    if (lane == 0) {
      dst[0] = m[g];
      dst[1] = l[g];
    }
#pragma unroll
    for (int i = 0; i < DPL; ++i)
      if (d0 + i < p.hd) dst[2 + d0 + i] = acc[g][i];
  }
}

constexpr int kCombineThreads = 1024;
static_assert(kAttnMaxSplits <= kCombineThreads, "phase 1 of the combine gives each split one thread");

// One block per query head. Phase 1: thread s < splits weighs split s (f_s = exp(m_s - M)) and the
// block sums l_s f_s; phase 2: the threads form 1024 / hd groups, group k sums f_s acc_s[d] over the
// splits s = k, k + groups, ... (so each thread has few loads in series), and the groups' sums are
// added in group order. Every sum has a fixed order: deterministic.
__global__ void __launch_bounds__(kCombineThreads)
attention_decode_combine(const float* __restrict__ part, AttnParams p, int splits, bf16* __restrict__ out) {
  pdl_enter();
  __shared__ float f[kAttnMaxSplits];
  __shared__ float red[kCombineThreads / 32];
  __shared__ float sums[kCombineThreads];
  const int h = blockIdx.x, t = threadIdx.x, warp = t / 32, lane = t % 32;
  const int row = p.hd + 2;
  const float* src = part + std::int64_t(h) * kAttnMaxSplits * row;
  const float m_s = t < splits ? src[t * row] : -INFINITY;  // splits <= kAttnMaxSplits <= threads
  const float l_s = t < splits ? src[t * row + 1] : 0.0f;
  float v = warp_max(m_s);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float M = -INFINITY;
  for (int w = 0; w < kCombineThreads / 32; ++w) M = fmaxf(M, red[w]);
  __syncthreads();
  const float f_s = m_s == -INFINITY ? 0.0f : __expf(m_s - M);
  if (t < splits) f[t] = f_s;
  v = warp_sum(l_s * f_s);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float L = 0.0f;
  for (int w = 0; w < kCombineThreads / 32; ++w) L += red[w];
  const int groups = kCombineThreads / p.hd;  // hd <= 256: at least 4
  const int grp = t / p.hd, d = t % p.hd;
  if (grp < groups) {
    float o = 0.0f;
#pragma unroll 8
    for (int s = grp; s < splits; s += groups) o = fmaf(f[s], src[s * row + 2 + d], o);
    sums[grp * p.hd + d] = o;
  }
  __syncthreads();
  if (t < p.hd) {
    float o = 0.0f;
    for (int k = 0; k < groups; ++k) o += sums[k * p.hd + t];
    out[h * p.hd + t] = __float2bfloat16(o / L);
  }
}

template <int DPL>
void launch(const float* qkv, const AttnParams& p, const bf16* kc, const bf16* vc, float* part, bf16* out,
            cudaStream_t stream) {
  int splits = splits_for_tensor_cores(p.max_ctx);
  const int G = p.H / p.KV;
  const int warps = (G + kHeadsPerWarp - 1) / kHeadsPerWarp;
  if (!attention_decode_split_tensor_cores(qkv, p, kc, vc, part, splits, stream)) {
    splits = splits_for(p.max_ctx);
    launch_kernel(attention_decode_split<DPL>, dim3(p.KV, splits), 32 * warps, 0, stream, qkv, p, kc, vc, part, splits);
    LS_LAUNCH_CHECK();
  }
  launch_kernel(attention_decode_combine, p.H, kCombineThreads, 0, stream, part, p, splits, out);
  LS_LAUNCH_CHECK();
}

}  // namespace

void attention_decode(const float* qkv, const AttnParams& p, const bf16* kcache, const bf16* vcache, float* part,
                      bf16* out, cudaStream_t stream) {
  if (p.KV <= 0 || p.H % p.KV != 0 || p.H / p.KV > 32 * kHeadsPerWarp)
    throw Error("attention heads " + std::to_string(p.H) + " / kv heads " + std::to_string(p.KV) +
                " are not supported by the decode attention (a multiple, at most 128 query heads per kv head)");
  if (p.hd <= 32) launch<1>(qkv, p, kcache, vcache, part, out, stream);
  else if (p.hd <= 64) launch<2>(qkv, p, kcache, vcache, part, out, stream);
  else if (p.hd <= 128) launch<4>(qkv, p, kcache, vcache, part, out, stream);
  else if (p.hd <= 256) launch<8>(qkv, p, kcache, vcache, part, out, stream);
  else throw Error("head_dim " + std::to_string(p.hd) + " is not supported (at most 256)");
}

}  // namespace logitscope::cuda
