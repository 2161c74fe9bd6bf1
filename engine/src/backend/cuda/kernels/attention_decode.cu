// SPDX-License-Identifier: GPL-3.0-or-later
// Decode (one query token) grouped-query attention, split over the context ("flash decoding").
// v1 ran one block of 4 warps per query head over the whole context: 32 blocks on 132 SMs, each warp
// walking ctx/4 keys in series (220 us per layer at 1k context on the H100).
// attention_decode_split: grid (H, kAttnSplits), 4 warps per block. Split s takes the keys
//   [s * chunk, (s + 1) * chunk) of the n = pos + 1 visible ones (chunk = ceil(n / kAttnSplits), pos
//   read from device memory when p.pos_dev is set, so one CUDA graph serves every step); warp w of
//   the split takes every 4th of those keys with an online softmax (lanes own head-dim entries), the
//   warps merge in shared memory, and the split writes its unnormalised partial (max m, sum l, acc)
//   to part [H, kAttnSplits, hd + 2].
// attention_decode_combine: one warp per head merges the kAttnSplits partials in a fixed order
//   (deterministic) and writes out [H hd] bf16.
// Bytes: K and V of the context, 2 * n * hd * 2 per kv head (re-read by its H/KV query heads from L2),
//   + the partials 2 * H * kAttnSplits * (hd + 2) * 4. Scale = hd^-0.5, softmax in fp32.
// Checked by: tests/gpu (check: token-by-token decode logits vs the CPU reference, every fixture).
#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 4;

template <int DPL>  // head-dim entries per lane: hd <= 32 * DPL
__global__ void __launch_bounds__(kWarps * 32)
attention_decode_split(const float* __restrict__ qkv, AttnParams p, const bf16* __restrict__ kc,
                       const bf16* __restrict__ vc, float* __restrict__ part) {
  __shared__ float sm_m[kWarps], sm_l[kWarps];
  __shared__ float sm_acc[kWarps][32 * DPL];
  const int h = blockIdx.x, split = blockIdx.y;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int kvh = h / (p.H / p.KV);
  const int n = (p.pos_dev ? *p.pos_dev : p.pos0) + 1;
  const int chunk = (n + kAttnSplits - 1) / kAttnSplits;
  const int j0 = split * chunk, j1 = min(n, j0 + chunk);
  const float scale = rsqrtf(float(p.hd));
  float q[DPL], acc[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    const int d = lane + 32 * i;
    q[i] = d < p.hd ? qkv[h * p.hd + d] * scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const bf16* kbase = kc + std::int64_t(kvh) * p.max_ctx * p.hd;
  const bf16* vbase = vc + std::int64_t(kvh) * p.max_ctx * p.hd;
  for (int j = j0 + warp; j < j1; j += kWarps) {
    const bf16* kr = kbase + std::int64_t(j) * p.hd;
    const bf16* vr = vbase + std::int64_t(j) * p.hd;
    float kv[DPL], vv[DPL];
#pragma unroll
    for (int i = 0; i < DPL; ++i) {  // both rows' loads issued before the reduction
      const int d = lane + 32 * i;
      kv[i] = d < p.hd ? __bfloat162float(kr[d]) : 0.0f;
      vv[i] = d < p.hd ? __bfloat162float(vr[d]) : 0.0f;
    }
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) s = fmaf(q[i], kv[i], s);
    s = warp_sum(s);
    const float m_new = fmaxf(m, s);
    const float c = __expf(m - m_new), e = __expf(s - m_new);
    l = l * c + e;
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[i] = acc[i] * c + e * vv[i];
    m = m_new;
  }
  if (lane == 0) { sm_m[warp] = m; sm_l[warp] = l; }
#pragma unroll
  for (int i = 0; i < DPL; ++i) sm_acc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  if (warp != 0) return;
  float M = -INFINITY;
  for (int w = 0; w < kWarps; ++w) M = fmaxf(M, sm_m[w]);
  float L = 0.0f, o[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) o[i] = 0.0f;
  for (int w = 0; w < kWarps; ++w) {
    const float f = sm_m[w] == -INFINITY ? 0.0f : __expf(sm_m[w] - M);
    L += sm_l[w] * f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) o[i] += sm_acc[w][lane + 32 * i] * f;
  }
  float* dst = part + (std::int64_t(h) * kAttnSplits + split) * (p.hd + 2);
  if (lane == 0) { dst[0] = M; dst[1] = L; }
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    const int d = lane + 32 * i;
    if (d < p.hd) dst[2 + d] = o[i];
  }
}

template <int DPL>
__global__ void attention_decode_combine(const float* __restrict__ part, AttnParams p, bf16* __restrict__ out) {
  const int h = blockIdx.x, lane = threadIdx.x;
  const float* src = part + std::int64_t(h) * kAttnSplits * (p.hd + 2);
  float M = -INFINITY;
  for (int s = 0; s < kAttnSplits; ++s) M = fmaxf(M, src[s * (p.hd + 2)]);
  float L = 0.0f, o[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) o[i] = 0.0f;
  for (int s = 0; s < kAttnSplits; ++s) {
    const float* ps = src + s * (p.hd + 2);
    const float f = ps[0] == -INFINITY ? 0.0f : __expf(ps[0] - M);
    L += ps[1] * f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < p.hd) o[i] += ps[2 + d] * f;
    }
  }
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    const int d = lane + 32 * i;
    if (d < p.hd) out[h * p.hd + d] = __float2bfloat16(o[i] / L);
  }
}

template <int DPL>
void launch(const float* qkv, const AttnParams& p, const bf16* kc, const bf16* vc, float* part, bf16* out,
            cudaStream_t stream) {
  attention_decode_split<DPL><<<dim3(p.H, kAttnSplits), kWarps * 32, 0, stream>>>(qkv, p, kc, vc, part);
  LS_LAUNCH_CHECK();
  attention_decode_combine<DPL><<<p.H, 32, 0, stream>>>(part, p, out);
  LS_LAUNCH_CHECK();
}

}  // namespace

void attention_decode(const float* qkv, const AttnParams& p, const bf16* kcache, const bf16* vcache, float* part,
                      bf16* out, cudaStream_t stream) {
  if (p.hd <= 32) launch<1>(qkv, p, kcache, vcache, part, out, stream);
  else if (p.hd <= 64) launch<2>(qkv, p, kcache, vcache, part, out, stream);
  else if (p.hd <= 128) launch<4>(qkv, p, kcache, vcache, part, out, stream);
  else if (p.hd <= 256) launch<8>(qkv, p, kcache, vcache, part, out, stream);
  else throw Error("head_dim " + std::to_string(p.hd) + " is not supported (at most 256)");
}

}  // namespace logitscope::cuda
