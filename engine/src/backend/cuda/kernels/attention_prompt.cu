// SPDX-License-Identifier: GPL-3.0-or-later
// Causal GQA attention of a prompt chunk on tensor cores (flash-attention style), no RoPE (spec 2.2).
//
// Block = 4 warps = 64 queries of one head (a warp owns 16 query rows); grid = (ceil(T / 64), H).
// The keys the block can see (positions 0 .. pos0 + its last query, from the bf16 caches that
// kv_append filled) go through shared memory 64 at a time; per tile each warp computes
//   S = Q K^T (wmma 16x16x16, bf16 in, fp32 out; Q pre-scaled by hd^-0.5 and split into two bf16
//     parts, q = hi + lo),
//   an online softmax over its rows in fp32 (causal mask: key position <= query position),
//   P V with P split the same way (hi + lo), and folds it into its output rows:
//   O = O exp(m_old - m_new) + P V. With both splits the products carry fp32-like q and p against
//   the bf16 cache, as the decode kernel does; a version with q and p rounded to bf16 changed the
//   logits of the every-kind fixture at 2-5 of 100 prompt positions past check's tolerance (H100).
// The fragment layout of wmma accumulators is opaque, so S and P V pass through the warp's own
// shared memory; each lane owns half of one row (16 rows x 2 lanes) for the softmax and for O.
// Head dims up to 128 (zero-padded to a multiple of 16: HDP); larger ones, and cards before 8.0,
// take the CUDA-core kernel in attention.cu.
// Shared memory: K and V tiles 2 x 64 x (HDP + 8) bf16 + per warp 16 x (max(HDP, 64) + 4) fp32 and
// 2 x 16 x 72 bf16 (85 KB at HDP = 128: dynamic, opted in per kernel).
// Bytes: K and V of the visible keys once per query tile (from L2 after the first head of a group);
// FLOPs: 4 T^2/2 hd per head. Why: the CUDA-core kernel (one block per query and head, a warp
// reduction per key) took 31 of 113 ms of a 2048-token prompt on the H100 (v4 profile).
// Checked by: tests/gpu (check: prefill all-logits vs the CPU reference on every fixture, prompts
// of 100 tokens: two query tiles, two key tiles).
#include <mma.h>

#include "backend/cuda/common.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/mma_attention.cuh"

namespace logitscope::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 16;
constexpr int kQueries = kWarps * kRowsPerWarp;  // 64 queries per block
constexpr int kKeys = 64;                        // keys per shared-memory tile

constexpr int round128(int bytes) { return (bytes + 127) / 128 * 128; }

template <int HDP>
struct FlashLayout {
  static constexpr int kvLd = HDP + 8;                          // bf16 row stride of K, V tiles
  static constexpr int wLd = (HDP > kKeys ? HDP : kKeys) + 4;   // fp32 row stride of a warp's S / PV
  static constexpr int pLd = kKeys + 8;                         // bf16 row stride of P
  static constexpr int kvBytes = round128(kKeys * kvLd * 2);
  static constexpr int wBytes = round128(kRowsPerWarp * wLd * 4);
  static constexpr int pBytes = round128(2 * kRowsPerWarp * pLd * 2);  // P as hi rows, then lo rows
  static constexpr int total = 2 * kvBytes + kWarps * (wBytes + pBytes);
};

template <int HDP>
__global__ void __launch_bounds__(32 * kWarps)
attention_prompt_kernel(const float* __restrict__ qkv, int T, AttnParams p, const bf16* __restrict__ kc,
                        const bf16* __restrict__ vc, bool vec, bf16* __restrict__ out) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  namespace wmma = nvcuda::wmma;
  using L = FlashLayout<HDP>;
  constexpr int kHalf = HDP / 2;  // output columns per lane
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* sK = reinterpret_cast<bf16*>(smem);                    // [kKeys][kvLd]
  bf16* sV = reinterpret_cast<bf16*>(smem + L::kvBytes);       // [kKeys][kvLd]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* sW = reinterpret_cast<float*>(smem + 2 * L::kvBytes + warp * (L::wBytes + L::pBytes));  // [16][wLd]
  bf16* sP = reinterpret_cast<bf16*>(reinterpret_cast<unsigned char*>(sW) + L::wBytes);          // [16][pLd]
  pdl_enter();
  const int h = blockIdx.y, t0 = blockIdx.x * kQueries;
  const int kvh = h / (p.H / p.KV);
  const int pos0 = p.pos_dev ? *p.pos_dev : p.pos0;
  const int row_len = (p.H + 2 * p.KV) * p.hd;
  const float scale = rsqrtf(float(p.hd));
  const int wq0 = t0 + warp * kRowsPerWarp;  // this warp's first query (index in the chunk)

  // Q rows of the warp, scaled, as hi + lo bf16 fragments (staged through sW).
  QSplit<HDP> q;
  load_q_split<HDP>(
      reinterpret_cast<bf16*>(sW),
      [&](int r, int d) {
        const int t = wq0 + r;
        return (t < T && d < p.hd) ? qkv[std::int64_t(t) * row_len + h * p.hd + d] * scale : 0.0f;
      },
      lane, q);

  const int r = lane / 2, half = lane % 2;  // this lane's row and half of it
  const bool row_valid = wq0 + r < T;
  const int qpos = pos0 + wq0 + r;
  const int block_last_key = pos0 + min(t0 + kQueries, T) - 1;
  const int warp_last_key = pos0 + min(wq0 + kRowsPerWarp, T) - 1;
  const bool warp_active = wq0 < T;
  const bf16* kb = kc + std::int64_t(kvh) * p.max_ctx * p.hd;
  const bf16* vb = vc + std::int64_t(kvh) * p.max_ctx * p.hd;
  float o[kHalf];
#pragma unroll
  for (int i = 0; i < kHalf; ++i) o[i] = 0.0f;
  float m = -INFINITY, l = 0.0f;

  for (int j0 = 0; j0 <= block_last_key; j0 += kKeys) {
    // K and V rows j0 .. j0 + 63 (zero past the last visible key and past hd).
    stage_kv_rows<HDP, kKeys>(sK, sV, L::kvLd, kb, vb, j0, block_last_key + 1, p.hd, vec);
    __syncthreads();
    if (warp_active && j0 <= warp_last_key) {
      // S = Q K^T for 16 rows x 64 keys -> sW.
#pragma unroll
      for (int n = 0; n < kKeys / 16; ++n) {
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
        wmma::fill_fragment(s, 0.0f);
#pragma unroll
        for (int f = 0; f < HDP / 16; ++f) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> kf;
          wmma::load_matrix_sync(kf, sK + n * 16 * L::kvLd + f * 16, L::kvLd);
          wmma::mma_sync(s, q.f[0][f], kf, s);
          wmma::mma_sync(s, q.f[1][f], kf, s);
        }
        wmma::store_matrix_sync(sW + n * 16, s, L::wLd, wmma::mem_row_major);
      }
      __syncwarp();
      // Online softmax: this lane's 32 keys of row r.
      float sv[32];
#pragma unroll
      for (int c = 0; c < 32; ++c) {
        const int key = j0 + half * 32 + c;
        sv[c] = (row_valid && key <= qpos) ? sW[r * L::wLd + half * 32 + c] : -INFINITY;
      }
      const float corr = online_softmax_tile(sv, m, l, sP + r * L::pLd + half * 32,
                                             sP + (kRowsPerWarp + r) * L::pLd + half * 32);
      __syncwarp();
      // P V for 16 rows x HDP -> sW.
#pragma unroll
      for (int n = 0; n < HDP / 16; ++n) {
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
        wmma::fill_fragment(acc, 0.0f);
#pragma unroll
        for (int kk = 0; kk < kKeys / 16; ++kk) {
          wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> pf_hi, pf_lo;
          wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vf;
          wmma::load_matrix_sync(pf_hi, sP + kk * 16, L::pLd);
          wmma::load_matrix_sync(pf_lo, sP + kRowsPerWarp * L::pLd + kk * 16, L::pLd);
          wmma::load_matrix_sync(vf, sV + kk * 16 * L::kvLd + n * 16, L::kvLd);
          wmma::mma_sync(acc, pf_hi, vf, acc);
          wmma::mma_sync(acc, pf_lo, vf, acc);
        }
        wmma::store_matrix_sync(sW + n * 16, acc, L::wLd, wmma::mem_row_major);
      }
      __syncwarp();
#pragma unroll
      for (int i = 0; i < kHalf; ++i) o[i] = o[i] * corr + sW[r * L::wLd + half * kHalf + i];
      __syncwarp();  // sW and sP are rewritten by the next tile
    }
    __syncthreads();  // sK, sV are restaged
  }
  if (row_valid) {
    bf16* orow = out + std::int64_t(wq0 + r) * p.H * p.hd + h * p.hd;
    const float inv = 1.0f / l;
#pragma unroll
    for (int i = 0; i < kHalf; ++i) {
      const int d = half * kHalf + i;
      if (d < p.hd) orow[d] = __float2bfloat16(o[i] * inv);
    }
  }
#else
  __trap();  // the host never launches this below compute capability 8.0
#endif
}

template <int HDP>
void launch_prompt(const float* qkv, int T, const AttnParams& p, const bf16* kcache, const bf16* vcache, bf16* out,
                   cudaStream_t stream) {
  constexpr int bytes = FlashLayout<HDP>::total;
  const bool vec = kv_rows_vectorisable(p.hd, kcache, vcache);
  launch_kernel(attention_prompt_kernel<HDP>, dim3((T + kQueries - 1) / kQueries, p.H), 32 * kWarps, bytes, stream,
                qkv, T, p, kcache, vcache, vec, out);
  LS_LAUNCH_CHECK();
}

}  // namespace

void configure_attention_prompt() {
  if (!tensor_core_kernels_supported()) return;
  for_each_head_dim([](auto hdp) {
    allow_shared_memory(attention_prompt_kernel<hdp.value>, FlashLayout<hdp.value>::total);
  });
}

bool attention_prompt(const float* qkv, int T, const AttnParams& p, const bf16* kcache, const bf16* vcache, bf16* out,
                      cudaStream_t stream) {
  if (p.hd > 128 || !tensor_core_kernels_supported()) return false;
  for_head_dim(p.hd, [&](auto hdp) { launch_prompt<decltype(hdp)::value>(qkv, T, p, kcache, vcache, out, stream); });
  return true;
}

}  // namespace logitscope::cuda
