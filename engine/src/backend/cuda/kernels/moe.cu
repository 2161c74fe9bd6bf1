// SPDX-License-Identifier: GPL-3.0-or-later
// Mixture-of-experts pieces (spec 2.3).
// router_topk: one warp per token. sigmoid scores (fp32), + correction bias for SELECTION only,
//   optional group-limited selection (group score = sum of its top-2 biased scores, masked groups
//   excluded), top-k by repeated warp argmax (ties -> lower id; hardware warp reductions on 8.0+), combine weights from the unbiased
//   sigmoid, normalised (+1e-20) when norm_topk_prob, times routed_scaling_factor. Launch: 4 warps
//   per block. Bytes: T * E * 4.
//   Interventions (RouterEdit, by value): a masked expert's selection score is -inf before the
//   groups are ranked; a forced set keeps only its experts (groups bypassed) and takes n_forced
//   rounds, the slots after them repeat the first choice with weight 0 (the expert kernels then add
//   nothing; the backend reports only the forced ones); the routed scale multiplies every weight.
// (The decode expert products live in experts_decode.cu.)
// gather_rows / moe_combine: the prompt path (tokens grouped per expert, products through cuBLAS),
//   combine sums each token's k expert rows, weighted, into the residual (deterministic, no atomics).
// Checked by: tests/gpu (check: logits and routing agreement vs the CPU reference, every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kMaxEPL = 16;   // experts per lane: E <= 512
constexpr int kRouterWarps = 4;

// The id of the warp's best (value, id) pair: the largest value, the lowest id among equal values.
__device__ __forceinline__ int warp_argmax(float value, int id) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  // Two warp reductions in hardware: the largest value (as order-preserving bits), then the lowest id
  // among the lanes that hold it.
  const unsigned u = __float_as_uint(value);
  const unsigned key = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  const unsigned top = __reduce_max_sync(0xffffffffu, key);
  return int(__reduce_min_sync(0xffffffffu, key == top ? unsigned(id) : 0x7fffffffu));
#else
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, value, o);
    const int oi = __shfl_xor_sync(0xffffffffu, id, o);
    if (ov > value || (ov == value && oi < id)) {
      value = ov;
      id = oi;
    }
  }
  return id;
#endif
}

// EPL: experts per lane, E <= 32 EPL (a power of two: 4 at E = 128, so each of the k rounds scans 4
// registers per lane, not kMaxEPL).
template <int EPL>
__global__ void router_topk_kernel(const float* __restrict__ logits, const float* __restrict__ bias, int T,
                                   RouterParams p, RouterEdit edit, int* __restrict__ ids,
                                   float* __restrict__ weights) {
  pdl_enter();
  __shared__ float choice_sm[kRouterWarps][EPL * 32];
  __shared__ unsigned char keep_sm[kRouterWarps][32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int t = blockIdx.x * kRouterWarps + warp;
  if (t >= T) return;
  const float* lr = logits + std::int64_t(t) * p.E;
  float sig[EPL], choice[EPL];
#pragma unroll
  for (int i = 0; i < EPL; ++i) {
    const int e = lane + 32 * i;
    sig[i] = e < p.E ? 1.0f / (1.0f + expf(-lr[e])) : 0.0f;
    choice[i] = e < p.E ? sig[i] + (bias ? bias[e] : 0.0f) : -INFINITY;
    if (edit.n_forced > 0) {
      bool kept = false;
      for (int f = 0; f < edit.n_forced; ++f) kept |= edit.forced[f] == e;
      if (!kept) choice[i] = -INFINITY;
    } else if (e < p.E && ((edit.masked[e >> 5] >> (e & 31)) & 1u)) {
      choice[i] = -INFINITY;
    }
  }
  if (p.n_group > 1 && edit.n_forced == 0) {
    // Rare path (Nemotron-3-Nano has one group): lane 0 ranks the groups serially.
#pragma unroll
    for (int i = 0; i < EPL; ++i) choice_sm[warp][lane + 32 * i] = choice[i];
    __syncwarp();
    if (lane == 0) {
      const int gs = p.E / p.n_group;
      float gscore[32];
      for (int g = 0; g < p.n_group && g < 32; ++g) {
        float a = -INFINITY, b = -INFINITY;
        for (int e = g * gs; e < (g + 1) * gs; ++e) {
          const float v = choice_sm[warp][e];
          if (v > a) { b = a; a = v; } else if (v > b) { b = v; }
        }
        gscore[g] = a + (gs > 1 ? b : 0.0f);
        keep_sm[warp][g] = 0;
      }
      for (int r = 0; r < p.topk_group; ++r) {
        int best = -1;
        for (int g = 0; g < p.n_group && g < 32; ++g)
          if (!keep_sm[warp][g] && (best < 0 || gscore[g] > gscore[best])) best = g;
        if (best >= 0) keep_sm[warp][best] = 1;
      }
    }
    __syncwarp();
    const int gs = p.E / p.n_group;
#pragma unroll
    for (int i = 0; i < EPL; ++i) {
      const int e = lane + 32 * i;
      if (e < p.E && !keep_sm[warp][e / gs]) choice[i] = -INFINITY;
    }
  }
  float chosen_sig = 0.0f, total = 0.0f;  // lane j keeps the j-th choice
  int chosen_id = 0;
  const int rounds = edit.n_forced > 0 ? edit.n_forced : p.k;
  for (int j = 0; j < rounds; ++j) {
    float best = -INFINITY;
    int best_e = 0x7fffffff;
#pragma unroll
    for (int i = 0; i < EPL; ++i) {
      const int e = lane + 32 * i;
      if (e < p.E && (choice[i] > best || (choice[i] == best && e < best_e))) { best = choice[i]; best_e = e; }
    }
    best_e = warp_argmax(best, best_e);
    // The owner removes it and publishes its unbiased score.
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < EPL; ++i)
      if (lane + 32 * i == best_e) { s = sig[i]; choice[i] = -INFINITY; }
    s = __shfl_sync(0xffffffffu, s, best_e & 31);
    total += s;
    if (lane == j) { chosen_sig = s; chosen_id = best_e; }
  }
  const int first_id = __shfl_sync(0xffffffffu, chosen_id, 0);
  if (lane < p.k) {
    float w = chosen_sig;
    if (p.norm_topk_prob) w /= (total + 1e-20f);
    const bool pad = lane >= rounds;  // a forced set smaller than k
    ids[std::int64_t(t) * p.k + lane] = pad ? first_id : chosen_id;
    weights[std::int64_t(t) * p.k + lane] = pad ? 0.0f : w * p.scale * edit.routed_scale;
  }
}

__global__ void gather_rows_kernel(const bf16* __restrict__ x, const int* __restrict__ rows, int cols,
                                   bf16* __restrict__ out) {
  pdl_enter();
  const bf16* src = x + std::int64_t(rows[blockIdx.x]) * cols;
  bf16* dst = out + std::int64_t(blockIdx.x) * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = src[c];
}

__global__ void moe_combine_kernel(const float* __restrict__ down_out, const int* __restrict__ slot,
                                   const int* __restrict__ ids, const float* __restrict__ weights,
                                   const float* __restrict__ down_b, int k, int cols, float* __restrict__ y) {
  pdl_enter();
  const int t = blockIdx.x;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int a = t * k + j;
      float v = down_out[std::int64_t(slot[a]) * cols + c];
      if (down_b) v += down_b[std::int64_t(ids[a]) * cols + c];
      acc += weights[a] * v;
    }
    y[std::int64_t(t) * cols + c] += acc;
  }
}

}  // namespace

void router_topk(const float* logits, const float* correction_bias, int T, const RouterParams& p, int* ids,
                 float* weights, cudaStream_t stream, const RouterEdit& edit) {
  if (p.E > kMaxEPL * 32) throw Error("n_routed_experts " + std::to_string(p.E) + " is not supported (at most 512)");
  if (p.k > 32) throw Error("num_experts_per_tok " + std::to_string(p.k) + " is not supported (at most 32)");
  if (p.n_group > 32) throw Error("n_group " + std::to_string(p.n_group) + " is not supported (at most 32)");
  if (edit.n_forced < 0 || edit.n_forced > p.k)
    throw Error("a forced expert set of " + std::to_string(edit.n_forced) + " experts: the CUDA router forces 1 to " +
                std::to_string(p.k) + " (num_experts_per_tok)");
  const int blocks = (T + kRouterWarps - 1) / kRouterWarps;
  auto launch = [&](auto kernel) {
    launch_kernel(kernel, blocks, 32 * kRouterWarps, 0, stream, logits, correction_bias, T, p, edit, ids, weights);
  };
  if (p.E <= 32) launch(router_topk_kernel<1>);
  else if (p.E <= 64) launch(router_topk_kernel<2>);
  else if (p.E <= 128) launch(router_topk_kernel<4>);
  else if (p.E <= 256) launch(router_topk_kernel<8>);
  else launch(router_topk_kernel<kMaxEPL>);
  LS_LAUNCH_CHECK();
}

void gather_rows(const bf16* x, const int* rows, int n, int cols, bf16* out, cudaStream_t stream) {
  if (n == 0) return;
  launch_kernel(gather_rows_kernel, n, 256, 0, stream, x, rows, cols, out);
  LS_LAUNCH_CHECK();
}

void moe_combine(const float* down_out, const int* slot, const int* ids, const float* weights, const float* down_b,
                 int T, int k, int cols, float* y, cudaStream_t stream) {
  launch_kernel(moe_combine_kernel, T, 256, 0, stream, down_out, slot, ids, weights, down_b, k, cols, y);
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
