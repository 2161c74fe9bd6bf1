// SPDX-License-Identifier: GPL-3.0-or-later
// Grouped-query causal attention without RoPE (spec 2.2), for decode (T = 1) and prompts alike.
// kv_append: one block per token writes k, v rows into the bf16 caches [KV, max_ctx, hd] (with an FP8
//   KV cache, each value rounded through E4M3 at the checkpoint's k_scale / v_scale first).
// attention: one block of 4 warps per (query head, token). Warp w takes key positions w, w+4, ...
//   with an online softmax (running max, sum, weighted V); lanes own head-dim entries; the 4 warps
//   merge through shared memory. Bytes at decode: K and V of the context, 2 * ctx * hd * 2 per head
//   (each kv head re-read by its H/KV query heads, from L2). Scale = hd^-0.5, softmax in fp32.
// pos0 comes from device memory when p.pos_dev is set (the decode CUDA graph); decode itself uses
// attention_decode.cu. Prompt chunks run attention_prompt.cu (tensor cores) where it can; this
// O(T^2) CUDA-core kernel is the fallback for head dims past 128 and cards before 8.0.
// Checked by: tests/gpu (check over every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/quant_dot.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kAttnWarps = 4;

__global__ void kv_append_kernel(const float* __restrict__ qkv, AttnParams p, bf16* __restrict__ kc,
                                 bf16* __restrict__ vc) {
  pdl_enter();
  const int t = blockIdx.x;
  const int pos0 = p.pos_dev ? *p.pos_dev : p.pos0;
  const int row_len = (p.H + 2 * p.KV) * p.hd;
  const float* row = qkv + std::int64_t(t) * row_len;
  for (int i = threadIdx.x; i < p.KV * p.hd; i += blockDim.x) {
    const int kvh = i / p.hd, d = i % p.hd;
    const std::int64_t dst = (std::int64_t(kvh) * p.max_ctx + pos0 + t) * p.hd + d;
    float k = row[p.H * p.hd + i], v = row[(p.H + p.KV) * p.hd + i];
    if (p.k_scale > 0.0f) {  // FP8 KV cache: what E4M3 storage gives back (saturating, nearest even)
      k = e4m3_to_float_dev(__nv_cvt_float_to_fp8(k / p.k_scale, __NV_SATFINITE, __NV_E4M3)) * p.k_scale;
      v = e4m3_to_float_dev(__nv_cvt_float_to_fp8(v / p.v_scale, __NV_SATFINITE, __NV_E4M3)) * p.v_scale;
    }
    kc[dst] = __float2bfloat16(k);
    vc[dst] = __float2bfloat16(v);
  }
}

template <int DPL>  // head-dim entries per lane: hd <= 32 * DPL
__global__ void attention_kernel(const float* __restrict__ qkv, AttnParams p, const bf16* __restrict__ kc,
                                 const bf16* __restrict__ vc, bf16* __restrict__ out) {
  pdl_enter();
  __shared__ float sm_m[kAttnWarps], sm_l[kAttnWarps];
  __shared__ float sm_acc[kAttnWarps][32 * DPL];
  const int h = blockIdx.x, t = blockIdx.y;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int kvh = h / (p.H / p.KV);
  const int last = (p.pos_dev ? *p.pos_dev : p.pos0) + t;  // attends to positions 0..last
  const int row_len = (p.H + 2 * p.KV) * p.hd;
  const float scale = rsqrtf(float(p.hd));
  float q[DPL], acc[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    const int d = lane + 32 * i;
    q[i] = d < p.hd ? qkv[std::int64_t(t) * row_len + h * p.hd + d] * scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const bf16* kbase = kc + std::int64_t(kvh) * p.max_ctx * p.hd;
  const bf16* vbase = vc + std::int64_t(kvh) * p.max_ctx * p.hd;
  for (int j = warp; j <= last; j += kAttnWarps) {
    const bf16* kr = kbase + std::int64_t(j) * p.hd;
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < p.hd) s = fmaf(q[i], __bfloat162float(kr[d]), s);
    }
    s = warp_sum(s);
    const float m_new = fmaxf(m, s);
    const float c = __expf(m - m_new), e = __expf(s - m_new);
    l = l * c + e;
    const bf16* vr = vbase + std::int64_t(j) * p.hd;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      acc[i] = acc[i] * c + (d < p.hd ? e * __bfloat162float(vr[d]) : 0.0f);
    }
    m = m_new;
  }
  if (lane == 0) { sm_m[warp] = m; sm_l[warp] = l; }
#pragma unroll
  for (int i = 0; i < DPL; ++i) sm_acc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  if (warp != 0) return;
  float M = -INFINITY;
  for (int w = 0; w < kAttnWarps; ++w) M = fmaxf(M, sm_m[w]);
  float L = 0.0f, o[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) o[i] = 0.0f;
  for (int w = 0; w < kAttnWarps; ++w) {
    const float f = sm_m[w] == -INFINITY ? 0.0f : __expf(sm_m[w] - M);
    L += sm_l[w] * f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) o[i] += sm_acc[w][lane + 32 * i] * f;
  }
  bf16* orow = out + std::int64_t(t) * p.H * p.hd + h * p.hd;
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    const int d = lane + 32 * i;
    if (d < p.hd) orow[d] = __float2bfloat16(o[i] / L);
  }
}

}  // namespace

void kv_append(const float* qkv, int T, const AttnParams& p, bf16* kcache, bf16* vcache, cudaStream_t stream) {
  launch_kernel(kv_append_kernel, T, 256, 0, stream, qkv, p, kcache, vcache);
  LS_LAUNCH_CHECK();
}

void attention(const float* qkv, int T, const AttnParams& p, const bf16* kcache, const bf16* vcache, bf16* out,
               cudaStream_t stream) {
  if (T > 1 && attention_prompt(qkv, T, p, kcache, vcache, out, stream)) return;
  dim3 grid(p.H, T), block(32 * kAttnWarps);
  if (p.hd <= 32) {
    launch_kernel(attention_kernel<1>, grid, block, 0, stream, qkv, p, kcache, vcache, out);
  } else if (p.hd <= 64) {
    launch_kernel(attention_kernel<2>, grid, block, 0, stream, qkv, p, kcache, vcache, out);
  } else if (p.hd <= 128) {
    launch_kernel(attention_kernel<4>, grid, block, 0, stream, qkv, p, kcache, vcache, out);
  } else if (p.hd <= 256) {
    launch_kernel(attention_kernel<8>, grid, block, 0, stream, qkv, p, kcache, vcache, out);
  } else {
    throw Error("head_dim " + std::to_string(p.hd) + " is not supported (at most 256)");
  }
  LS_LAUNCH_CHECK();
}

}  // namespace logitscope::cuda
